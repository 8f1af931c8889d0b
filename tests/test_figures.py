"""The overview figure (notebook 00, README): it builds, stays small, and the command writes it atomically."""

from ardiff_edu import figures
from ardiff_edu.utils import REPO_ROOT


def test_overview_figure_is_small_png():
    png = figures.figure_png(figures.overview_figure())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) < 150_000


def test_command_writes_the_png(tmp_path, capsys):
    out = tmp_path / "sub" / "overview.png"
    assert figures.main([str(out)]) == 0
    assert out.stat().st_size < 150_000 and "wrote" in capsys.readouterr().out
    assert figures.main([]) == 2


def test_docs_overview_is_shipped_and_small():
    path = REPO_ROOT / "docs" / "overview.png"
    assert path.exists() and path.stat().st_size < 150_000
