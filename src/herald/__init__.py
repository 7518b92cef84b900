"""Herald: a self-hosted communications gateway with an offline Twilio and SendGrid emulator."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
