import pytest

from pipeline.text.reading import ReportReadError, decode_bytes, read_report

TEXT = "2021年北京市石景山区政府工作报告：地区生产总值增长6%左右，请予审议。"
TRADITIONAL = "石景山區政府工作報告，請予審議，地區生產總值增長百分之六。"


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le", "utf-16-be"]
)
def test_decodes_supported_encodings(encoding):
    text, _ = decode_bytes(TEXT.encode(encoding))
    assert text == TEXT


def test_decodes_big5_traditional():
    text, encoding = decode_bytes(TRADITIONAL.encode("big5"))
    assert (text, encoding) == (TRADITIONAL, "big5")


def test_binary_file_is_a_clear_error(tmp_path):
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(ReportReadError) as err:
        read_report(path)
    assert "image.png" in str(err.value) and "binary" in str(err.value)


def test_undecodable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(bytes([0xFF, 0xFE, 0xFF]))  # UTF-16 BOM, then a truncated unit
    with pytest.raises(ReportReadError, match="bad.txt"):
        read_report(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ReportReadError, match="no such file"):
        read_report(tmp_path / "missing.txt")
    with pytest.raises(ReportReadError, match="directory"):
        read_report(tmp_path)


def test_empty_file_reads_as_empty_text(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert read_report(path) == ""


def test_all_seed_reports_read(seed_files):
    for path in seed_files:
        assert len(read_report(path)) > 5000
