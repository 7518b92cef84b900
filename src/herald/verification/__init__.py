"""Verifications: one API, two engines (Herald's own one-time codes, or Twilio Verify).

`VerificationService` is what the API calls; it applies the start throttles, picks the
tenant's engine and records the outcomes with their events (docs/verifications.md).
"""

from __future__ import annotations

from herald.verification.service import VerificationService, VerifyClients

__all__ = ["VerificationService", "VerifyClients"]
