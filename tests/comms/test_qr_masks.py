"""The numpy mask choice picks segno's own mask, on the same symbol."""

from __future__ import annotations

import segno
from hypothesis import given, settings
from hypothesis import strategies as st
from segno import encoder

from incassa.comms import qr_masks

SEGNO = qr_masks._segno_find_and_apply_best_mask


def _symbol(payload: bytes, chooser) -> segno.QRCode:
    previous = encoder.find_and_apply_best_mask
    encoder.find_and_apply_best_mask = chooser
    try:
        return segno.make_qr(payload, error="m", boost_error=False)
    finally:
        encoder.find_and_apply_best_mask = previous


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=1, max_size=331))
def test_the_same_mask_and_symbol_as_segno(payload):
    ours, theirs = _symbol(payload, qr_masks.find_and_apply_best_mask), _symbol(payload, SEGNO)
    assert (ours.version, ours.mask) == (theirs.version, theirs.mask)
    assert ours.matrix == theirs.matrix


def test_the_penalty_of_a_known_symbol():
    # The smallest symbol (21 x 21) of "A", mask applied by segno: the scores segno gives
    # its own matrix, summed, are the score this module computes for it.
    symbol = _symbol(b"A", SEGNO)
    matrix = tuple(bytearray(row) for row in symbol.matrix)
    expected = sum(encoder.mask_scores(matrix, 21, 21))
    import numpy as np

    assert qr_masks.penalty(np.array(symbol.matrix, dtype=np.uint8)) == expected


def test_micro_codes_and_a_proposed_mask_are_left_to_segno():
    micro = segno.make_micro("12345")
    assert micro.is_micro
    assert segno.make_qr("ABC", mask=3).mask == 3


def test_installed_by_the_documents_module():
    import incassa.comms.documents  # noqa: F401

    assert encoder.find_and_apply_best_mask is qr_masks.find_and_apply_best_mask
