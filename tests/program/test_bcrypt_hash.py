"""The bcrypt hash provider: hashes once, keeps the hash while the password verifies."""

from __future__ import annotations

import base64
import pickle

import bcrypt
import dill
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown

from components.credentials.bcrypt_hash import GENERATED_ROUNDS, SUPPLIED_ROUNDS, BcryptHashProvider, cost_of

PASSWORD = "Supplied-password-0123456789"


def test_create_hashes_and_diff_keeps_the_hash_while_the_password_verifies() -> None:
    provider = BcryptHashProvider()
    created = provider.create({"password": PASSWORD})
    digest = created.outs["hash"]
    assert bcrypt.checkpw(PASSWORD.encode(), digest.encode())
    assert not provider.diff("bcrypt", created.outs, {"password": PASSWORD}).changes
    assert provider.diff("bcrypt", created.outs, {"password": PASSWORD + "x"}).changes
    updated = provider.update("bcrypt", created.outs, {"password": PASSWORD + "x"})
    assert bcrypt.checkpw((PASSWORD + "x").encode(), updated.outs["hash"].encode())


def test_check_rejects_empty_and_overlong_and_accepts_unknown() -> None:
    provider = BcryptHashProvider()
    assert provider.check({}, {"password": ""}).failures
    assert provider.check({}, {"password": "x" * 73}).failures
    assert not provider.check({}, {"password": Unknown()}).failures
    assert provider.diff("bcrypt", {"hash": "$2b$..."}, {"password": Unknown()}).changes


def test_serialized_provider_is_a_reference_without_state() -> None:
    blob = base64.b64decode(serialize_provider(BcryptHashProvider()))
    assert b"components.bcrypt_hash" in blob
    assert vars(dill.loads(blob)) == {}
    assert len(blob) < 200, "the provider pickles by reference, not by value"
    assert pickle.loads(blob).__class__.__name__ == "BcryptHashProvider"


def test_the_cost_asked_for_is_the_hashs_and_another_cost_is_a_change() -> None:
    """``rounds`` sets the cost; a hash made before the input existed (cost 10, no ``rounds`` in its inputs) stays
    unchanged without it, and is made again when a lower cost is asked for: the diff compares the cost too."""
    provider = BcryptHashProvider()
    cheap = provider.create({"password": PASSWORD, "rounds": GENERATED_ROUNDS}).outs
    assert cost_of(cheap["hash"]) == GENERATED_ROUNDS == 4
    assert bcrypt.checkpw(PASSWORD.encode(), cheap["hash"].encode())
    # The engine sends numbers as floats.
    assert not provider.diff("bcrypt", cheap, {"password": PASSWORD, "rounds": 4.0}).changes
    before = provider.create({"password": PASSWORD}).outs
    assert cost_of(before["hash"]) == SUPPLIED_ROUNDS == 10
    assert not provider.diff("bcrypt", before, {"password": PASSWORD}).changes
    assert provider.diff("bcrypt", before, {"password": PASSWORD, "rounds": 4.0}).changes
    # A password that becomes a person's choice (rounds dropped) goes back to cost 10.
    assert provider.diff("bcrypt", cheap, {"password": PASSWORD}).changes
    assert provider.diff("bcrypt", cheap, {"password": PASSWORD, "rounds": Unknown()}).changes
    for wrong in (3, 32, 4.5, True, "4"):
        assert provider.check({}, {"password": PASSWORD, "rounds": wrong}).failures, wrong
    assert not provider.check({}, {"password": PASSWORD, "rounds": 4.0}).failures
