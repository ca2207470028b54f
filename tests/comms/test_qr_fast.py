"""segno's steps computed with numpy make segno's own symbols."""

from __future__ import annotations

import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from segno import encoder

from incassa.comms import qr_fast

STEPS = ("find_and_apply_best_mask", "make_final_message", "add_codewords")
SEGNO = {name: getattr(qr_fast, f"_segno_{name}") for name in STEPS}
OURS = {name: getattr(qr_fast, name) for name in STEPS}


def _symbol(payload: bytes, steps: dict) -> segno.QRCode:
    previous = {name: getattr(encoder, name) for name in STEPS}
    for name, step in steps.items():
        setattr(encoder, name, step)
    try:
        return segno.make_qr(payload, error="m", boost_error=False)
    finally:
        for name, step in previous.items():
            setattr(encoder, name, step)


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=1, max_size=331))
def test_the_same_mask_and_symbol_as_segno(payload):
    ours, theirs = _symbol(payload, OURS), _symbol(payload, SEGNO)
    assert (ours.version, ours.mask) == (theirs.version, theirs.mask)
    assert ours.matrix == theirs.matrix


def test_the_penalty_of_a_known_symbol():
    # The smallest symbol (21 x 21) of "A", mask applied by segno: the scores segno gives
    # its own matrix, summed, are the score this module computes for it.
    symbol = _symbol(b"A", SEGNO)
    matrix = tuple(bytearray(row) for row in symbol.matrix)
    expected = sum(encoder.mask_scores(matrix, 21, 21))
    import numpy as np

    assert qr_fast.penalty(np.array(symbol.matrix, dtype=np.uint8)) == expected


def test_micro_codes_and_a_proposed_mask_are_left_to_segno():
    micro = segno.make_micro("12345")
    assert micro.is_micro
    assert segno.make_qr("ABC", mask=3).mask == 3


def test_installed_by_the_documents_module():
    import incassa.comms.documents  # noqa: F401

    assert all(getattr(encoder, name) is step for name, step in OURS.items())


def test_a_pattern_overlapping_one_counted_is_not_counted_again():
    # 21 x 21, all light but row 10: 0000 1011101011101 0000, two finder-like patterns at
    # 4 and 10 sharing a module. segno counts the first (four light modules before it), then
    # resumes after it (at 11) and never looks at the second: N3 = 40, not 80.
    # N1: the 20 light rows are runs of 21, 19 points each (380); row 10 has no run of 5.
    # The 12 light columns 19 each (228); the 9 columns with a dark module in row 10, two
    # light runs of 10, 8 points each (144): N1 = 752.
    # N2: the 360 2x2 blocks away from row 10 are light; of the 40 touching it, those over
    # two light modules of row 10: 6 pairs (0-1, 1-2, 2-3, 17-18, 18-19, 19-20) twice: 12.
    # N2 = 3 * 372 = 1116. N4: 9 dark of 441 is 2.04%: |2.04 - 50| / 5 = 9 steps, 90.
    import numpy as np

    matrix = np.zeros((21, 21), dtype=np.uint8)
    matrix[10, 4:17] = [1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1]
    assert encoder.mask_scores(tuple(bytearray(r) for r in matrix), 21, 21) == (752, 1116, 40, 90)
    assert qr_fast.penalty(matrix) == 752 + 1116 + 40 + 90


@settings(max_examples=100, deadline=None)
@given(st.integers(21, 69), st.randoms(use_true_random=False))
def test_the_penalty_of_any_matrix_is_segnos(size, random):
    import numpy as np

    # Long runs of one color and finder-like patterns, overlapping ones included, are
    # more frequent in a matrix drawn from short random stretches than in noise.
    bits: list[int] = []
    while len(bits) < size * size:
        bits += random.choice(
            (
                [0] * random.randint(1, 7),
                [1] * random.randint(1, 3),
                [1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1],
            )
        )
    matrix = np.array(bits[: size * size], dtype=np.uint8).reshape(size, size)
    expected = sum(encoder.mask_scores(tuple(bytearray(r) for r in matrix), size, size))
    assert qr_fast.penalty(matrix) == expected
