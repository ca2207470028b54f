"""segno's slowest steps for a QR code (not Micro QR), computed with numpy: the same symbol.

Every reminder's statement carries a QR code of its own (its amount and reason), and segno,
pure Python, takes about 5 ms to make one: more than the rest of the statement's PDF. Three
steps take most of it, and each is done here on arrays, on the same values, rule for rule:

- the choice of the data mask (ISO/IEC 18004:2015, 7.8.3): the eight masked symbols are
  scored at once, with segno's own penalty rules, and the first of the lowest wins;
- the error correction codewords (7.5.2), by a lookup table per generator polynomial, and
  the interleaving of the blocks into the final message (7.6);
- the placement of the codewords in the matrix (7.7.3): the order of the free modules
  depends only on the symbol's size, so it is computed once per size.

``install`` makes segno use them; Micro QR codes and a proposed mask are left to segno.
Property tests compare the symbols with segno's own on random payloads.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from segno import consts, encoder

_segno_find_and_apply_best_mask = encoder.find_and_apply_best_mask
_segno_make_final_message = encoder.make_final_message
_segno_add_codewords = encoder.add_codewords
N3_PATTERN = bytes((0x1, 0x0, 0x1, 0x1, 0x1, 0x0, 0x1))


@functools.cache
def _masks(size: int) -> np.ndarray:
    """The eight masks of a QR code ``size`` modules wide, stacked (1 where the module is
    flipped: in the encoding region, where the mask's condition holds), as segno applies
    them."""
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
    return np.stack([(p & region).astype(np.uint8) for p in patterns])


def _n1(lines: np.ndarray) -> np.ndarray:
    """Per symbol: runs of five or more equal modules in its lines, 3 + (run - 5) points
    each. ``lines`` is (symbols, lines, modules)."""
    symbols, count, size = lines.shape
    padded = np.full((symbols, count, size + 1), -1, dtype=np.int8)
    padded[:, :, 1:] = lines
    # Each line begins with its own sentinel: a run never spans two lines.
    flat = np.append(padded.ravel(), -2)
    starts = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], starts))
    runs = np.diff(starts)
    long = runs >= 5
    owner = starts[:-1][long] // (count * (size + 1))
    return np.bincount(owner, weights=runs[long] - 2, minlength=symbols).astype(np.int64)


N3_CODE = int("".join(str(bit) for bit in N3_PATTERN), 2)


def _n3(lines: np.ndarray) -> np.ndarray:
    """Per symbol: segno's N3 (see ``_n3_walked``); bit-parallel for symbols of up to 64
    modules (version 10; an EPC code of up to about 150 bytes), each line one 64-bit word:
    every test is a shift and a logical operation over all the lines at once."""
    symbols, count, size = lines.shape
    if size > 64:
        return _n3_walked(lines)
    packed = np.zeros((symbols, count, 8), dtype=np.uint8)
    packed[:, :, : (size + 7) // 8] = np.packbits(lines, axis=2)
    # Module p of a line is bit 63 - p: ``word << k`` brings module p + k to p, ``>> k``
    # module p - k; beyond either end everything reads light (zero), as segno's clipped
    # windows do.
    word = packed.view(">u8").reshape(symbols, count).astype(np.uint64)
    one = np.uint64

    def ahead(k: int) -> np.ndarray:
        return word << one(k)

    def behind(k: int) -> np.ndarray:
        return word >> one(k)

    starts = ~np.uint64(0) << one(64 - (size - 6))  # the modules a pattern can start at
    found = word & ~ahead(1) & ahead(2) & ahead(3) & ahead(4) & ~ahead(5) & ahead(6) & starts
    dark_before = behind(1) | behind(2) | behind(3) | behind(4)
    dark_after = ahead(7) | ahead(8) | ahead(9) | ahead(10)
    candidates = found & ~(dark_before & dark_after)
    # segno resumes past a pattern it counted: one starting 4 or 6 modules after it (the
    # only overlaps the pattern allows) is not counted. Each round settles one more link
    # of a chain of overlapping patterns, from the left; chains are short.
    counted = candidates
    while True:
        settled = candidates & ~((counted >> one(4)) | (counted >> one(6)))
        if np.array_equal(settled, counted):
            break
        counted = settled
    return 40 * np.bitwise_count(counted).sum(axis=1, dtype=np.int64)


def _n3_walked(lines: np.ndarray) -> np.ndarray:
    """Per symbol: segno's N3, rule for rule (the 1:1:3:1:1 pattern beside four light
    modules, 40 points), over (symbols, lines, modules). segno scans a line left to right
    and, after a pattern it counted, resumes past it: a pattern overlapping one counted (4
    or 6 modules later, the only overlaps the pattern allows) is not looked at."""
    symbols, count, size = lines.shape
    width = size - 6
    code = np.zeros((symbols, count, width), dtype=np.uint8)
    for k in range(7):
        code = (code << 1) | lines[:, :, k : k + width]
    found = code == N3_CODE
    symbol, line, start = np.nonzero(found)
    if not len(start):
        return np.zeros(symbols, dtype=np.int64)
    darks = np.zeros((symbols, count, size + 1), dtype=np.int16)
    np.cumsum(lines, axis=2, out=darks[:, :, 1:])
    before = darks[symbol, line, start] - darks[symbol, line, np.maximum(start - 4, 0)]
    after = darks[symbol, line, np.minimum(start + 11, size)] - darks[symbol, line, start + 7]
    counts = (start == 0) | (start == size - 7) | (before == 0) | (after == 0)
    overlapping = np.zeros_like(found)
    overlapping[:, :, 4:] |= found[:, :, :-4]
    overlapping[:, :, 6:] |= found[:, :, :-6]
    if overlapping[symbol, line, start].any():
        # Two patterns overlap (common across eight symbols): walk them in order, as segno does.
        counted: set[tuple[int, int, int]] = set()
        for index, (s, li, x) in enumerate(
            zip(symbol.tolist(), line.tolist(), start.tolist(), strict=True)
        ):
            if (s, li, x - 4) in counted or (s, li, x - 6) in counted:
                counts[index] = False
            elif counts[index]:
                counted.add((s, li, x))
    return 40 * np.bincount(symbol[counts], minlength=symbols).astype(np.int64)


def penalties(symbols: np.ndarray) -> np.ndarray:
    """The penalty scores of masked matrices, (symbols, size, size): N1 + N2 + N3 + N4 as
    segno counts them."""
    size = symbols.shape[1]
    lines = np.concatenate((symbols, symbols.transpose(0, 2, 1)), axis=1)
    top_left = symbols[:, :-1, :-1]
    n2 = 3 * np.count_nonzero(
        (top_left == symbols[:, :-1, 1:])
        & (top_left == symbols[:, 1:, :-1])
        & (top_left == symbols[:, 1:, 1:]),
        axis=(1, 2),
    )
    percent = symbols.sum(axis=(1, 2), dtype=np.int64) / (size**2)
    n4 = 10 * (np.abs(percent * 100 - 50) / 5).astype(np.int64)
    return _n1(lines) + n2 + _n3(np.ascontiguousarray(lines)) + n4


def penalty(matrix: np.ndarray) -> int:
    """The penalty score of one masked matrix."""
    return int(penalties(matrix[np.newaxis].astype(np.uint8))[0])


def find_and_apply_best_mask(
    matrix: Any, width: int, height: int, proposed_mask: int | None = None
) -> tuple[int, Any]:
    """Drop-in for ``segno.encoder.find_and_apply_best_mask``: the eight masks scored at
    once; the first of the lowest wins, as in segno."""
    if width != height or width < 21 or proposed_mask is not None:
        return _segno_find_and_apply_best_mask(matrix, width, height, proposed_mask)
    data = np.frombuffer(b"".join(bytes(row) for row in matrix), dtype=np.uint8).reshape(
        height, width
    )
    symbols = data ^ _masks(width)
    best = int(np.argmin(penalties(symbols)))
    return best, tuple(bytearray(row.tobytes()) for row in symbols[best])


@functools.cache
def _generator_table(error_words: int) -> tuple[int, ...]:
    """For each leading coefficient, what the generator polynomial times it XORs into the
    remainder, as one integer of ``error_words`` bytes (the first byte the highest)."""
    exp, log, generator = consts.GALIOS_EXP, consts.GALIOS_LOG, consts.GEN_POLY[error_words]
    table = [0]
    for coefficient in range(1, 256):
        row = bytes(exp[log[coefficient] + g] for g in generator)
        table.append(int.from_bytes(row, "big"))
    return tuple(table)


def _error_words(data: bytes, error_words: int) -> bytes:
    """The Reed-Solomon remainder of a block: the polynomial division segno does, one
    shift register step per data codeword."""
    table = _generator_table(error_words)
    shift = 8 * (error_words - 1)
    keep = (1 << (8 * error_words)) - 1
    remainder = 0
    for byte in data:
        remainder = ((remainder << 8) & keep) ^ table[byte ^ (remainder >> shift)]
    return remainder.to_bytes(error_words, "big")


def _interleaved(blocks: list[bytes]) -> bytes:
    """The first codeword of every block, then the second of every block, and so on; a
    shorter block is passed over once it has none left."""
    longest = max(len(block) for block in blocks)
    return bytes(block[index] for index in range(longest) for block in blocks if index < len(block))


REMAINDER_BITS = {v: 7 for v in range(2, 7)} | {v: 3 for v in (*range(14, 21), *range(28, 35))}
REMAINDER_BITS |= {v: 4 for v in range(21, 28)}


def make_final_message(version: int, error: int, buff: Any) -> Any:
    """Drop-in for ``segno.encoder.make_final_message``: the final message's bits as an
    array (``add_codewords`` below places it)."""
    if version < 1:
        return _segno_make_final_message(version, error, buff)
    bits = np.frombuffer(bytes(buff.getbits()), dtype=np.uint8)
    codewords = np.packbits(bits).tobytes()  # the last byte padded with zeros, as segno
    data_blocks, error_blocks, start = [], [], 0
    for info in consts.ECC[version][error]:
        error_words = info.num_total - info.num_data
        for _ in range(info.num_blocks):
            block = codewords[start : start + info.num_data]
            start += info.num_data
            data_blocks.append(block)
            error_blocks.append(_error_words(block, error_words))
    message = _interleaved(data_blocks) + _interleaved(error_blocks)
    return np.concatenate(
        (
            np.unpackbits(np.frombuffer(message, dtype=np.uint8)),
            np.zeros(REMAINDER_BITS.get(version, 0), dtype=np.uint8),
        )
    )


@functools.cache
def _placement(size: int) -> np.ndarray:
    """The free modules of a QR code ``size`` modules wide (flat indexes), in the order
    its codewords' bits fill them: two columns at a time from the right, up then down,
    the vertical timing pattern's column skipped."""
    matrix = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(matrix, size, size)
    encoder.add_alignment_patterns(matrix, size, size)
    order = []
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        for vertical in range(size):
            for z in range(2):
                j = right - z
                upwards = ((right & 2) == 0) ^ (j < 6)
                i = (size - 1 - vertical) if upwards else vertical
                if matrix[i][j] == 0x2:
                    order.append(i * size + j)
    return np.array(order, dtype=np.intp)


def add_codewords(matrix: Any, codewords: Any, version: int) -> None:
    """Drop-in for ``segno.encoder.add_codewords`` for the array ``make_final_message``
    returns."""
    if version < 1 or not isinstance(codewords, np.ndarray):
        _segno_add_codewords(matrix, codewords, version)
        return
    size = len(matrix)
    order = _placement(size)
    if len(codewords) > len(order):  # pragma: no cover - segno raises the same
        raise ValueError("Internal error: Adding codewords to matrix failed.")
    flat = np.frombuffer(b"".join(bytes(row) for row in matrix), dtype=np.uint8).copy()
    flat[order[: len(codewords)]] = codewords
    for i, row in enumerate(flat.reshape(size, size)):
        matrix[i][:] = row.tobytes()


def install() -> None:
    """Have segno make QR codes this way (idempotent)."""
    encoder.find_and_apply_best_mask = find_and_apply_best_mask
    encoder.make_final_message = make_final_message
    encoder.add_codewords = add_codewords
