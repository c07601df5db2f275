"""Media URI forms and output key rules (digest §3.2)."""

import pytest

from emulator.service.s3_uri import customer_output_key, parse_s3_uri, public_s3_url, service_bucket


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("s3://media/clip.wav", ("media", "clip.wav")),
        ("s3://media/a/b/c.mp3", ("media", "a/b/c.mp3")),
        ("https://s3.us-east-1.amazonaws.com/media/a/clip.wav", ("media", "a/clip.wav")),
        ("https://s3.amazonaws.com/media/clip.wav", ("media", "clip.wav")),
        ("https://s3-eu-west-1.amazonaws.com/media/clip.wav", ("media", "clip.wav")),
        ("https://media.s3.eu-west-1.amazonaws.com/clip.wav", ("media", "clip.wav")),
        ("https://s3.us-east-1.amazonaws.com/media/my%20clip.wav", ("media", "my clip.wav")),
        ("http://127.0.0.1:9000/media/clip.wav", ("media", "clip.wav")),
    ],
)
def test_media_uris_name_bucket_and_key(uri, expected):
    assert parse_s3_uri(uri, ("http://127.0.0.1:9000",)) == expected


@pytest.mark.parametrize("uri", ["s3://media", "s3://media/", "https://example.com/media/clip.wav", "ftp://x/y"])
def test_uris_without_an_s3_object_are_refused(uri):
    assert parse_s3_uri(uri, ("http://127.0.0.1:9000",)) is None


@pytest.mark.parametrize(
    "output_key, expected",
    [
        (None, "job-1.json"),
        ("out/", "out/job-1.json"),
        ("out/deeper/", "out/deeper/job-1.json"),
        ("test-files/my-transcript.json", "test-files/my-transcript.json"),
        ("my-transcript", "my-transcript.json"),
        ("test-files/test-output", "test-files/test-output.json"),
    ],
)
def test_output_key_rules(output_key, expected):
    assert customer_output_key("job-1", output_key) == expected


def test_aws_url_forms():
    assert public_s3_url("eu-west-1", "b", "k/x.json") == "https://s3.eu-west-1.amazonaws.com/b/k/x.json"
    assert service_bucket("us-east-1") == "aws-transcribe-us-east-1-prod"


@pytest.mark.parametrize("key", ["a/../b", "/a", "a//b", "./a", "a/.", "..", "x/./y.json"])
def test_output_keys_with_dot_segments_or_empty_segments_are_refused(key):
    from emulator.aws.errors import BadRequestException
    from emulator.service.s3_uri import check_output_key

    with pytest.raises(BadRequestException, match="OutputKey"):
        check_output_key(key)


@pytest.mark.parametrize("key", [None, "", "a/b", "folder/", "a.b/..c/d..json", "x/.hidden.json"])
def test_ordinary_output_keys_pass(key):
    from emulator.service.s3_uri import check_output_key

    check_output_key(key)
