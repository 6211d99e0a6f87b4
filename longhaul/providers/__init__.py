"""Models behind one streaming interface: `Providers(...).get("openai/gpt-4.1").stream(request)`.

The SDKs are imported only when a provider of theirs is first used.
"""

from longhaul.providers.address import Address, parse_address
from longhaul.providers.base import Provider, RetrySettings
from longhaul.providers.pool import Providers
from longhaul.providers.request import (
    Completion,
    Message,
    Request,
    Restart,
    RetryRecord,
    StreamEvent,
    ThinkingDelta,
    Usage,
)
from longhaul.providers.retry import ModelUnavailable, ProviderError

__all__ = [
    "Address",
    "Completion",
    "Message",
    "ModelUnavailable",
    "Provider",
    "ProviderError",
    "Providers",
    "Request",
    "Restart",
    "RetryRecord",
    "RetrySettings",
    "StreamEvent",
    "ThinkingDelta",
    "Usage",
    "parse_address",
]
