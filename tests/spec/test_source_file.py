from agentctl.spec.source_file import MAX_FILE_BYTES, decode, read_text


def test_non_utf8_bytes_are_located():
    text, diag = decode("name: ok\nx: caf\xe9\n".encode("latin-1"), "f.yaml")
    assert text is None
    assert (diag.code, str(diag.span)) == ("E106", "f.yaml:2:7")


def test_binary_data_is_refused():
    _, diag = decode(b"apiVersion: x\n\x00\x01\x02", "f.yaml")
    assert (diag.code, diag.span.line) == ("E106", 2)


def test_empty_and_blank_files_are_refused():
    for raw in (b"", b"  \n\n"):
        assert decode(raw, "f.yaml")[1].code == "E107"


def test_bom_and_crlf_are_accepted():
    assert decode(b"\xef\xbb\xbfa: 1\r\nb: 2\r\n", "f.yaml") == ("a: 1\nb: 2\n", None)


def test_large_files_are_refused_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    assert read_text(big, "big.yaml")[1].code == "E105"


def test_missing_file(tmp_path):
    assert read_text(tmp_path / "nope.yaml", "nope.yaml")[1].code == "E100"
