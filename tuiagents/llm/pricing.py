"""Prices used to turn token counts into an approximate cost in USD.

An entry's own ``price`` (USD per 1M prompt / completion tokens) always wins. Otherwise the model id
is looked up in :data:`BUILTIN_PRICES`, a small table of common OpenAI models kept by this project.
Those numbers are **approximate** list prices (standard tier, no cached-input or batch discounts)
and can be out of date: set ``price`` on the entry when the figure matters. A model found in
neither place costs 0 and is reported as unpriced.
"""

from __future__ import annotations

#: USD per 1M (prompt, completion) tokens. Approximate; matched by longest prefix of the model id,
#: so dated snapshots such as ``gpt-4o-2024-08-06`` use their family's price.
BUILTIN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-2024-05-13": (5.00, 15.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-4-32k": (60.00, 120.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o1-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
}


def builtin_price(model: str) -> tuple[float, float] | None:
    """The built-in price of ``model`` (longest matching prefix), or None when unknown.

    A prefix only matches at a ``-`` boundary or exactly, so ``gpt-4o`` does not price
    ``gpt-4o-mini`` and ``o1`` does not price ``o1-preview-x`` as ``o1-mini``.
    """
    model = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" style ids
    best: str | None = None
    for prefix in BUILTIN_PRICES:
        if model == prefix or model.startswith(prefix + "-"):
            if best is None or len(prefix) > len(best):
                best = prefix
    return BUILTIN_PRICES[best] if best else None


def price_for(model: str, explicit: tuple[float, float] | None) -> tuple[float, float] | None:
    """The price to use: the entry's explicit one, else the built-in one, else None."""
    return explicit if explicit is not None else builtin_price(model)


def cost_usd(prompt_tokens: int, completion_tokens: int, price: tuple[float, float] | None) -> float:
    """Cost in USD of one call at ``price`` (USD per 1M prompt / completion tokens); 0 if unpriced."""
    if price is None:
        return 0.0
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
