"""segno's choice of a QR code's data mask, computed with numpy.

A QR code is drawn with the one of its eight data masks that scores the lowest penalty
(ISO/IEC 18004:2015, 7.8.3). segno tries the eight in pure Python, about 5 ms per code:
more than the rest of a statement's PDF, and every reminder's statement has a QR code of
its own (its amount and reason). ``find_and_apply_best_mask`` computes the same scores, on
the same values, with numpy and segno's own N3 rule, and so picks the same mask (a property
test compares the two on random payloads); ``install`` makes segno use it. Micro QR codes
are left to segno.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from segno import encoder

_segno_find_and_apply_best_mask = encoder.find_and_apply_best_mask
N3_PATTERN = bytes((0x1, 0x0, 0x1, 0x1, 0x1, 0x0, 0x1))


@functools.cache
def _masks(size: int) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The encoding region of a QR code ``size`` modules wide, and the eight masks (1 where
    the module is flipped), as segno computes them."""
    function_matrix = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(function_matrix, size, size)
    encoder.add_alignment_patterns(function_matrix, size, size)
    function_matrix[-8][8] = 0x1
    region = np.array([list(row) for row in function_matrix], dtype=np.uint8) > 0x1
    i, j = np.indices((size, size))
    patterns = (
        (i + j) % 2 == 0,
        i % 2 == 0,
        j % 3 == 0,
        (i + j) % 3 == 0,
        (i // 2 + j // 3) % 2 == 0,
        (i * j) % 2 + (i * j) % 3 == 0,
        ((i * j) % 2 + (i * j) % 3) % 2 == 0,
        ((i + j) % 2 + (i * j) % 3) % 2 == 0,
    )
    return region, tuple((p & region).astype(np.uint8) for p in patterns)


def _n1(matrix: np.ndarray) -> int:
    """Runs of five or more equal modules in the rows: 3 + (run - 5) points each."""
    padded = np.pad(matrix.astype(np.int16), ((0, 0), (1, 0)), constant_values=-1).ravel()
    starts = np.flatnonzero(np.diff(padded, append=-2) != 0)
    runs = np.diff(starts)
    # Each row begins with its own sentinel: a run never spans two rows.
    long = runs[runs >= 5]
    return int((long - 2).sum())


def _n3_row(seq: bytes, size: int) -> int:
    """segno's N3 for one row or column (the 1:1:3:1:1 pattern beside four light modules),
    rule for rule, so that the scores agree."""
    count = 0
    idx = seq.find(N3_PATTERN)
    while idx != -1:
        offset = idx + 7
        if (
            idx in (0, size - 7)
            or not any(seq[max(idx - 4, 0) : min(idx, size)])
            or not any(seq[max(offset, 0) : min(offset + 4, size)])
        ):
            count += 40
        else:
            offset = idx + 4
        idx = seq.find(N3_PATTERN, offset)
    return count


def penalty(matrix: np.ndarray) -> int:
    """The penalty score of a masked matrix: N1 + N2 + N3 + N4 as segno counts them."""
    size = matrix.shape[0]
    n1 = _n1(matrix) + _n1(matrix.T)
    top_left = matrix[:-1, :-1]
    n2 = 3 * int(
        np.count_nonzero(
            (top_left == matrix[:-1, 1:])
            & (top_left == matrix[1:, :-1])
            & (top_left == matrix[1:, 1:])
        )
    )
    n3 = sum(_n3_row(row.tobytes(), size) for row in matrix) + sum(
        _n3_row(column.tobytes(), size) for column in np.ascontiguousarray(matrix.T)
    )
    percent = float(matrix.sum(dtype=np.int64)) / (size**2)
    n4 = 10 * int(abs(percent * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


def find_and_apply_best_mask(
    matrix: Any, width: int, height: int, proposed_mask: int | None = None
) -> tuple[int, Any]:
    """Drop-in for ``segno.encoder.find_and_apply_best_mask``."""
    if width != height or width < 21 or proposed_mask is not None:
        return _segno_find_and_apply_best_mask(matrix, width, height, proposed_mask)
    _region, masks = _masks(width)
    data = np.frombuffer(b"".join(bytes(row) for row in matrix), dtype=np.uint8).reshape(
        height, width
    )
    best, best_score, best_matrix = 0, None, data
    for number, mask in enumerate(masks):
        masked = data ^ mask
        score = penalty(masked)
        if best_score is None or score < best_score:
            best, best_score, best_matrix = number, score, masked
    return best, tuple(bytearray(row.tobytes()) for row in best_matrix)


def install() -> None:
    """Have segno choose masks this way (idempotent)."""
    encoder.find_and_apply_best_mask = find_and_apply_best_mask
