"""What the page needs to start a never-seen cell at once: which codes the server may have a basis for.

The gate's lookup costs a round trip (~20 ms on a quiet machine), paid before every cell the page has
not yet seen cheap. Most such cells have no basis at all (new code), which the page can tell by itself
given two sets from the server:

- ``codes``: a Bloom filter of the sha256 of every code in the ledger (a superset of the history
  basis: no false negatives, about 1 % false positives, which only make a cell wait as before);
- ``templates``: the 64-bit prefixes of the sha256 of every code template (numbers blanked) the
  service knows a ``--flops`` run for (the flops-scaled basis).

A code in neither has no basis, so its lookup cannot flag it; the page starts it and sends the lookup
afterwards, as it does for cells known cheap.
"""

from __future__ import annotations

import base64
import math

FALSE_POSITIVE_RATE = 0.01
HASHES = 7  # optimal for 1 %: round(-log2(0.01))
MIN_CAPACITY = 1024
TEMPLATE_PREFIX_HEX = 16  # 64 bits: collisions only make a cell wait


class CodeFilter:
    """A Bloom filter over sha256 hex digests, sized for ``capacity`` entries at 1 % false positives.

    The digest is already uniform, so the k positions come from it by double hashing: its first and
    second 32-bit words h1, h2 (h2 made odd), position i = (h1 + i * h2) mod m. The page computes the
    same positions (src/predict/known.ts), so the arithmetic must stay exact below 2**53 there.
    """

    def __init__(self, capacity: int) -> None:
        capacity = max(MIN_CAPACITY, capacity)
        self.bits = math.ceil(-capacity * math.log(FALSE_POSITIVE_RATE) / math.log(2) ** 2)
        self._array = bytearray((self.bits + 7) // 8)
        self.count = 0

    def positions(self, digest: str) -> list[int]:
        first, second = int(digest[0:8], 16), int(digest[8:16], 16) | 1
        return [(first + i * second) % self.bits for i in range(HASHES)]

    def add(self, digest: str) -> None:
        for position in self.positions(digest):
            self._array[position >> 3] |= 1 << (position & 7)
        self.count += 1

    def __contains__(self, digest: str) -> bool:
        return all(self._array[p >> 3] & (1 << (p & 7)) for p in self.positions(digest))

    def to_json(self) -> dict[str, object]:
        return {
            "bits": self.bits,
            "hashes": HASHES,
            "count": self.count,
            "array": base64.b64encode(bytes(self._array)).decode("ascii"),
        }


def is_digest(value: object) -> bool:
    """A sha256 hex digest as the ledger stores ``code_hash`` (imported runs may carry none or others)."""
    if not isinstance(value, str) or len(value) != 64:
        return False
    try:
        int(value, 16)
    except ValueError:
        return False
    return True
