"""How long the emulator takes to answer, so pacing and timeouts are exercised like on the real API.

Real monday answers a cheap read in about half a second server-side and heavy requests grow worse than
linearly until they hit the 60 s gateway timeout (server times of the responses recorded in
github.com/sanifhimani/monday_ruby; the timeout:
https://developer.monday.com/api-reference/docs/development-best-practices; 504s on 500 items with subitems:
https://github.com/mondaycom/monday-api-python-sdk/issues/26).

The model: ``base + per_object * n * max(1, n / knee) ** exponent + per_subitems_list * s``, times a seeded
jitter factor, where ``n`` is the number of objects in the answer and ``s`` the number of ``subitems`` lists
resolved (each is a lookup on another board, which is what makes nested subitems so slow). Above
``ceiling_s`` the server waits the ceiling and answers HTTP 504. Waiting is ``await asyncio.sleep`` in the
server, never a blocking sleep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """Parameters of the latency curve (seconds)."""

    base_s: float = 0.0
    per_object_s: float = 0.0
    knee_objects: int = 10_000
    exponent: float = 0.5
    per_subitems_list_s: float = 0.0
    jitter: float = 0.0
    """Relative jitter: the delay is multiplied by a uniform factor in [1 - jitter, 1 + jitter]."""
    ceiling_s: float | None = None
    """Past this the request times out with HTTP 504 after waiting ``ceiling_s``; ``None`` = no ceiling."""

    def nominal(self, objects: int, subitem_lists: int = 0) -> float:
        """Delay without jitter for an answer of ``objects`` objects and ``subitem_lists`` subitem lists."""
        growth = max(1.0, objects / self.knee_objects) ** self.exponent if self.knee_objects > 0 else 1.0
        return self.base_s + self.per_object_s * objects * growth + self.per_subitems_list_s * subitem_lists

    def delay(self, objects: int, rng: random.Random, subitem_lists: int = 0) -> float:
        """Jittered delay; always draws one number so the sequence stays reproducible for a seed."""
        factor = 1.0 + self.jitter * (2.0 * rng.random() - 1.0)
        return max(0.0, self.nominal(objects, subitem_lists) * factor)

    @property
    def is_instant(self) -> bool:
        """No delay whatever the answer: the server can skip measuring it (throughput)."""
        return self.base_s == self.per_object_s == self.per_subitems_list_s == 0.0

    def times_out(self, delay_s: float) -> bool:
        """Whether a request of this delay is cut off by the gateway (HTTP 504)."""
        return self.ceiling_s is not None and delay_s > self.ceiling_s


PRESETS: dict[str, LatencyModel] = {
    "instant": LatencyModel(),
    # base 0.5 s = p50 of cheap reads (568 ms: X-Envoy-Upstream-Service-Time in monday_ruby's recordings).
    # 100 full items with 21 column values are ~2,700 objects:
    # 0.5 + 2,700 * 0.0006 ≈ 2.1 s (±10 %). 500 items with their subitems (~11,600 objects, 500 subitem
    # lists): 0.5 + 7.5 + 500 * 0.12 ≈ 68 s > 60 s, so the gateway answers 504 even at -10 % jitter.
    "production": LatencyModel(base_s=0.5, per_object_s=0.0006, knee_objects=10_000, exponent=0.5,
                               per_subitems_list_s=0.12, jitter=0.1, ceiling_s=60.0),
}


def latency_from_spec(spec: str | LatencyModel) -> LatencyModel:
    """A preset name, a ready model, or ``custom:base=0.1,per_object=0.0001,ceiling=5,jitter=0.1``."""
    if isinstance(spec, LatencyModel):
        return spec
    if spec in PRESETS:
        return PRESETS[spec]
    if spec.startswith("custom:"):
        names = {"base": "base_s", "per_object": "per_object_s", "knee": "knee_objects",
                 "exponent": "exponent", "jitter": "jitter", "ceiling": "ceiling_s",
                 "per_subitems_list": "per_subitems_list_s"}
        kwargs: dict[str, Any] = {}
        for part in filter(None, spec[len("custom:"):].split(",")):
            key, _, value = part.partition("=")
            if key not in names:
                raise ValueError(f"unknown latency parameter {key!r}; known: {', '.join(names)}")
            kwargs[names[key]] = int(value) if key == "knee" else float(value)
        return LatencyModel(**kwargs)
    raise ValueError(f"unknown latency preset {spec!r}; use instant, production or custom:...")


def measure(value: Any) -> tuple[int, int]:
    """``(objects, subitem_lists)`` in a GraphQL ``data`` tree: what the latency model charges for."""
    objects = subitem_lists = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            objects += 1
            for key, child in item.items():
                if isinstance(child, dict | list):
                    stack.append(child)
                    if key == "subitems":
                        subitem_lists += 1
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))
    return objects, subitem_lists
