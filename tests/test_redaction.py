"""Masking Proofsheet's own secrets in an answer passed on as it arrives (the /v1 relay): however the answer is cut
into chunks, no secret gets through, the length stays, and everything else goes on unchanged and at once."""
from hypothesis import given, settings, strategies as st

from proofsheet.redaction import Redactor

KEY = "sk-own-key-0123456789"
MASK = Redactor(KEY, ("user", "pa ss/word")).stream_mask()
SECRET_FORMS = [secret for secret in MASK.secrets]

pieces = st.one_of(st.binary(max_size=40), st.sampled_from(SECRET_FORMS), st.sampled_from([b"sk-", b"sk-own", b"*"]))


def relayed(mask, chunks):
    out = [mask.feed(chunk) for chunk in chunks]
    return out + [mask.flush()]


@settings(max_examples=300, deadline=None)
@given(st.lists(pieces, max_size=12), st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_no_secret_gets_through_however_the_answer_is_cut(parts, cuts):
    whole = b"".join(parts)
    bounds = sorted({0, len(whole), *(cut for cut in cuts if cut < len(whole))})
    chunks = [whole[start:end] for start, end in zip(bounds, bounds[1:])]
    sent = b"".join(relayed(MASK, chunks))
    assert len(sent) == len(whole)
    assert not any(secret in sent for secret in SECRET_FORMS)
    assert sent == MASK.masked(whole)


def test_a_chunk_that_cannot_begin_a_secret_goes_on_whole_and_at_once():
    mask = Redactor(KEY).stream_mask()
    event = b'event: image_generation.partial_image\ndata: {"b64_json": "iVBOR"}\n\n'
    assert mask.feed(event) == event


def test_a_secret_cut_in_two_is_held_only_until_the_rest_arrives():
    mask = Redactor(KEY).stream_mask()
    assert mask.feed(b'{"seen": "Bearer sk-own-') == b'{"seen": "Bearer '
    assert mask.feed(b'key-0123456789"}') == b"*" * len(KEY) + b'"}'
    assert mask.flush() == b""


def test_what_looked_like_a_secret_goes_on_at_the_end():
    mask = Redactor(KEY).stream_mask()
    assert mask.feed(b"ends with sk-own") == b"ends with "
    assert mask.flush() == b"sk-own"


def test_a_proofsheet_without_secrets_masks_nothing():
    assert not Redactor().stream_mask()
