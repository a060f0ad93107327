"""The API reference page (book/api.md) lists every public name with the
signature the code has."""

import pytest
from check_api_page import API_PAGE, main


def test_api_page_matches_the_code(capsys):
    status = main(API_PAGE)
    report = capsys.readouterr().out
    assert status == 0, report
    assert report.rstrip().endswith("OK")


def test_checker_catches_a_wrong_signature(tmp_path, capsys):
    page = API_PAGE.read_text(encoding="utf-8")
    wrong = page.replace(
        "lr=None, max_iter=1000,", "lr=None, max_iter=999,", 1
    )
    if wrong == page:
        pytest.fail(
            "book/api.md no longer shows minimize's max_iter default; "
            "update this test"
        )
    (tmp_path / "api.md").write_text(wrong, encoding="utf-8")
    assert main(tmp_path / "api.md") == 1
    assert "default of max_iter" in capsys.readouterr().out
