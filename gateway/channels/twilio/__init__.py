"""The Twilio channel: signatures, SMS, delivery receipts, Voice callbacks."""
