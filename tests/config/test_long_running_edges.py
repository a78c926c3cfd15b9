"""Edges of the long-running settings: config values the provider or Docker cannot take, and a provided chain
whose intermediate expires before the server certificate."""

from __future__ import annotations

import datetime
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.config import ConfigError
from tests.support.certs import Pair, make_leaf
from tests.support.config_values import parse
from tests.support.harness import ProgramRun, run_program

# --- cpus -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e26", "1e30", "123456789012345678901234567"])
def test_a_huge_cpu_count_is_a_config_error_not_a_crash(value: str) -> None:
    """decimal's quantize raises InvalidOperation once the quantized value needs more digits than the
    context's precision (28): the refusal must still be a one-line ConfigError naming the key."""
    with pytest.raises(ConfigError) as error:
        parse({"cpus": value})
    message = str(error.value)
    assert "palette-pack-registry:cpus" in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["0.01", "0.05", "0.06", "10.05", "100.15"])
def test_the_cpus_value_a_refusal_suggests_is_itself_accepted(value: str) -> None:
    """A value the provider would read back differently is refused with a suggestion; following the
    suggestion must work (kreuzwerker/terraform-provider-docker internal/provider/helpers.go
    nanoInt64ToDecimalString rounds to one decimal whenever the nine-decimal string holds exactly nine zeros,
    so 0.06 or 10.06 fail the same way as 0.05 or 10.05)."""
    with pytest.raises(ConfigError) as error:
        parse({"cpus": value})
    found = re.search(r"such as (\d+(?:\.\d+)?)", str(error.value))
    assert found, str(error.value)
    suggested = found.group(1)
    limits = parse({"cpus": suggested}).container.limits
    assert limits.cpus is not None, f"{value}: the suggested {suggested} sets no limit"


# --- values the provider or Docker cannot carry -------------------------------------------------------------------


@pytest.mark.parametrize("value", [2**44, 2**44 + 2048, 2**63])
def test_a_memory_limit_whose_bytes_overflow_int64_is_refused(value: int) -> None:
    """The provider turns MB into bytes as int64(memory) * 1024 * 1024 (kreuzwerker/terraform-provider-docker
    internal/provider/resource_docker_container_funcs.go resourceDockerContainerCreate and Update): from 2**43
    MB on that wraps around (2**44 MB becomes no limit at all, 2**44 + 2048 MB a 2 GB limit) and the next
    read-back differs from the declared value on every run. Such a value must be refused up front."""
    with pytest.raises(ConfigError) as error:
        parse({"memoryLimitMb": value})
    assert "palette-pack-registry:memoryLimitMb" in str(error.value)


@pytest.mark.parametrize("value", ["99999999999999999999g", "9999999999999g"])
def test_a_log_size_docker_cannot_hold_is_refused(value: str) -> None:
    """Docker parses max-size into an int64 of bytes (docker/go-units FromHumanSize in the json-file driver);
    beyond that the container is created but fails to start with "failed to initialize logging driver:
    max-size must be a positive number" (measured on the engine here: both values below fail to start,
    9000000000g starts). Accepted, such a value would make `pulumi up` fail late and leave a created,
    stopped container behind."""
    with pytest.raises(ConfigError) as error:
        parse({"logMaxSize": value})
    assert "palette-pack-registry:logMaxSize" in str(error.value)


# --- a provided chain whose intermediate expires first -----------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(
    common_name: str, days: float, issuer: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None = None
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_key, issuer_name = (issuer[0], issuer[1].subject) if issuer else (key, _name(common_name))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _expiry(cert: x509.Certificate) -> str:
    return cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _provided(leaf: Pair, chain: str) -> ProgramRun:
    return run_program(
        {"tlsMode": "provided", "tlsCertificate": chain, "tlsPrivateKey": leaf.key_pem}, secrets_={"tlsPrivateKey"}
    )


def _short_lived_intermediate_chain() -> tuple[ProgramRun, x509.Certificate]:
    """leaf (400 days) <- intermediate (10 days) <- root (10 years), served as leaf + intermediate + root."""
    root_key, root = _ca("Test Root", 3650)
    intermediate_key, intermediate = _ca("Test Intermediate", 10, issuer=(root_key, root))
    leaf = make_leaf(intermediate_key, intermediate, ["localhost"], ["127.0.0.1"], days=400)
    return _provided(leaf, leaf.certificate_pem + _pem(intermediate) + _pem(root)), intermediate


def test_an_intermediate_expiring_within_the_renewal_window_warns() -> None:
    """In 10 days every client that checks the chain (Palette with the registration's CA chain, the Spectro
    CLI) refuses the server, although the leaf itself is valid for 400 days; certEarlyRenewalHours is 720.
    The warning must name the intermediate, or nothing says that the registry breaks in 10 days."""
    run, intermediate = _short_lived_intermediate_chain()
    assert [w for w in run.warnings if _expiry(intermediate) in w], run.warnings


def test_ca_expires_at_is_the_first_expiry_among_the_chain_s_authorities() -> None:
    """caExpiresAt is the intermediate that expires in 10 days and takes the served chain down with it, not
    the last certificate (here the root, 10 years out)."""
    run, intermediate = _short_lived_intermediate_chain()
    assert run.exports["caExpiresAt"] == _expiry(intermediate)
