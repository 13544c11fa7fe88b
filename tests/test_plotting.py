"""The visual language: fixed colours for broken/fixed/reference, labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from demos import plotting


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    ("label", "colour"),
    [
        ("broken", plotting.BROKEN),
        ("broken (no lock)", plotting.BROKEN),
        ("Fixed", plotting.FIXED),
        ("reference", plotting.REFERENCE),
        ("float64", plotting.REFERENCE),
    ],
)
def test_broken_fixed_and_reference_always_get_their_own_colour(label, colour):
    assert plotting.colour_for(label) == colour


def test_other_series_are_neutral_never_in_the_broken_or_fixed_family():
    others = {plotting.colour_for("unbatched", i) for i in range(8)}
    assert others <= set(plotting.FAMILIES["neutral"])
    assert not others & (set(plotting.FAMILIES["broken"]) | set(plotting.FAMILIES["fixed"]))


def test_several_broken_series_differ_by_shade_but_stay_in_the_broken_family():
    fig, ax = plotting.rate_vs_threads({"broken: a": ([1], [1]), "broken: b": ([1], [2]),
                                        "fixed": ([1], [0])})
    colours = [line.get_color() for line in ax.get_lines()]
    assert colours[0] != colours[1]
    assert set(colours[:2]) <= set(plotting.FAMILIES["broken"])
    assert colours[2] == plotting.FIXED
    assert len({line.get_marker() for line in ax.get_lines()[:2]}) == 2


def test_a_figure_wider_than_the_text_column_is_refused():
    with pytest.raises(ValueError, match=rf"^figsize width must be <= {plotting.MAX_WIDTH_IN} in"):
        plotting.figure("t", "x", "y", figsize=(9.0, 3.0))


def test_legends_sit_outside_the_axes():
    fig, ax = plotting.rate_vs_threads({"broken": ([1, 2], [0, 5]), "fixed": ([1, 2], [0, 0])})
    assert ax.get_legend() is None
    assert len(fig.legends) == 1


def test_rate_vs_threads_labels_its_axes_and_colours_its_lines():
    fig, ax = plotting.rate_vs_threads({"broken": ([1, 2], [0, 5]), "fixed": ([1, 2], [0, 0])})
    assert ax.get_xlabel() == "threads"
    assert "%" in ax.get_ylabel()
    assert [line.get_color() for line in ax.get_lines()] == [plotting.BROKEN, plotting.FIXED]


def test_timeline_draws_one_row_per_thread_in_first_seen_order():
    fig, ax = plotting.timeline(
        [("loader", 0, 5, "load"), ("reader", 1, 2, "broken")], marks=[("loader", 4, "ready")]
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == ["loader", "reader"]
    assert ax.get_xlabel() == "time (ms)"


def test_figures_have_a_white_background_for_light_and_dark_themes():
    fig, _ = plotting.figure("t", "x (s)", "y (ms)")
    assert matplotlib.colors.to_hex(fig.get_facecolor()) == "#ffffff"


def test_every_png_a_figure_is_saved_as_says_what_it_shows(tmp_path):
    """The inline backend's PNG (what a notebook stores) and savefig's carry the alt text."""
    from IPython.core.pylabtools import print_figure

    from demos.plotting.alt import png_description

    fig, ax = plotting.rate_vs_threads({"broken": ([1, 2], [5, 9]), "fixed": ([1, 2], [0, 0])},
                                       title="Lost updates → threads")
    inline = tmp_path / "inline.png"
    inline.write_bytes(print_figure(fig, "png", bbox_inches="tight"))
    said = png_description(inline)
    assert said is not None
    for part in ("Lost updates → threads", "threads", "broken", "fixed"):
        assert part in said, f"{part!r} missing from the alt text {said!r}"
    plotting.set_alt(fig, "Lost updates grow with threads in broken; fixed stays at zero.")
    fig.savefig(tmp_path / "saved.png")
    assert png_description(tmp_path / "saved.png").startswith("Lost updates grow")
    with pytest.raises(ValueError, match="alt text"):
        plotting.set_alt(fig, " ")


def _helper_figures():
    yield plotting.rate_vs_threads({"broken": ([1, 2], [0, 5]), "fixed": ([1, 2], [0, 0])})[0]
    yield plotting.error_vs_magnitude({"float16": ([1, 10], [1e-3, 1e-2]),
                                       "float64": ([1, 10], [1e-16, 1e-16])})[0]
    yield plotting.latency_throughput({"broken": ([1, 2], [3, 4]), "fixed": ([1, 2], [1, 2])})[0]
    yield plotting.bars({"broken": 3.0, "fixed: per-thread copy": 1.0}, title="t", ylabel="s")[0]
    yield plotting.timeline([("thread 0", 0, 5, "broken"), ("thread 1", 1, 4, "fixed")],
                            marks=[("thread 0", 5, "timeout fires")])[0]
    yield plotting.heatmap([[0.1, 0.9], [0.5, 0.2]], ["a long row label that wraps", "b"],
                           title="t", colorbar="share")[0]
    yield plotting.verdict_grid(["pitfall one", "pitfall two"], ["broken", "fixed"],
                                [[True, False], [True, False]], title="t",
                                notes=[["7/7", "0/7"], ["3/3", "0/3"]])[0]


def test_no_text_in_a_helper_figure_is_smaller_than_min_font_pt():
    """On a phone the site scales a MAX_WIDTH_IN figure to the column; its text stays at
    >= 9 CSS px only if nothing is drawn under MIN_FONT_PT (tests/test_site.py measures the
    scale)."""
    from matplotlib.text import Text

    for fig in _helper_figures():
        fig.canvas.draw()
        assert fig.get_figwidth() <= plotting.MAX_WIDTH_IN
        small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
                 if t.get_visible() and t.get_text().strip()
                 and t.get_fontsize() < plotting.MIN_FONT_PT]
        assert small == [], f"text under {plotting.MIN_FONT_PT} pt: {small}"


def test_a_long_legend_never_widens_the_saved_figure():
    """The notebook stores the PNG cropped to its contents (bbox_inches="tight"): a legend
    wider than the figure would widen the PNG and the site would shrink its text."""
    import io

    from PIL import Image

    fig, ax = plotting.figure("t", "x", "y")
    for label in ("float16", "broken: int8, one scale per matrix",
                  "fixed: int8, one scale per channel", "budget (0.02)"):
        ax.plot([1, 2], [1, 2], label=label)
    plotting.legend(ax, ncols=4)
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")
    width = Image.open(png).size[0]
    assert width <= plotting.MAX_WIDTH_IN * plotting.DPI + 15, f"PNG {width} px wide"


def test_timeline_can_sort_its_rows_by_name_numbers_numerically():
    spans = [(f"thread {n}", n, n + 1, "call") for n in (3, 10, 0, 2)]
    _, ax = plotting.timeline(spans, sort_rows=True)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "thread 0", "thread 2", "thread 3", "thread 10"]


def test_a_long_title_is_wrapped_not_left_to_widen_the_saved_figure():
    import io

    from PIL import Image

    fig, ax = plotting.figure("t", "x", "y")
    ax.set_title("Broken batcher: three requests wait for a batch of 8 that never fills, ever")
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")
    assert Image.open(png).size[0] <= plotting.MAX_WIDTH_IN * plotting.DPI + 25
    assert "\n" in ax.get_title()


def test_a_title_centred_off_the_figure_centre_is_wrapped_before_the_png_is_cropped():
    """A panel title is centred on its axes, which long row labels push right: a title
    narrower than the figure can still spill past its right edge. It is wrapped before
    bbox_inches="tight" measures the drawing, so the stored PNG keeps the figure's width."""
    import io

    from PIL import Image

    spans = [(f"locked · request-{n}", n, n + 5, "broken: model running") for n in range(3)]
    fig, ax = plotting.timeline(spans, title="Model runs in flight: one at a time vs overlapping")
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")
    assert Image.open(png).size[0] <= plotting.MAX_WIDTH_IN * plotting.DPI + 20
    assert "\n" in ax.get_title()


def test_alt_text_says_what_the_data_show_not_only_what_the_parts_are():
    """describe() reads the values off the figure, as a sighted reader would."""
    fig, _ = plotting.rate_vs_threads({"broken": ([1, 8], [5, 9]), "fixed": ([1, 8], [0, 0])},
                                      title="Lost updates")
    assert "broken from 5 at 1 to 9 at 8" in plotting.describe(fig)
    assert "fixed from 0 at 1 to 0 at 8" in plotting.describe(fig)
    fig, _ = plotting.bars({"broken": 3, "fixed": 2}, title="Calls", ylabel="calls")
    fig.canvas.draw()
    assert "Bars of calls: broken 3, fixed 2." in plotting.describe(fig)
    fig, _ = plotting.verdict_grid(["1. A", "2. B"], ["broken", "fixed"],
                                   [[True, False], [False, False]], title="Verdicts")
    said = plotting.describe(fig)
    assert "1. A: broken manifested, fixed held; 2. B: broken held, fixed held" in said
    fig, _ = plotting.verdict_grid(["A"], ["broken", "fixed"], [[True, False]], title="Counted",
                                   notes=[["3 of 20", "0 of 20"]])  # a cell's count is data too
    assert "A: broken manifested (3 of 20), fixed held (0 of 20)." in plotting.describe(fig)
    fig, _ = plotting.timeline([("t 0", 0, 20, "call"), ("t 1", 5, 30, "call")], title="T")
    assert "2 spans on 2 rows (t 0, t 1), from 0 to 30" in plotting.describe(fig)


def test_a_png_records_its_smallest_text_in_pixels(tmp_path):
    """tests/test_site.py scales this by the figure's shown width: what is measured is what
    was drawn, not the style's MIN_FONT_PT."""
    from demos.plotting.alt import png_min_text_px

    fig, ax = plotting.bars({"broken": 3, "fixed": 2}, title="Calls", ylabel="calls")
    ax.annotate("tiny", (0, 1), fontsize=5)
    fig.savefig(tmp_path / "f.png")
    assert png_min_text_px(tmp_path / "f.png") == pytest.approx(5 * plotting.DPI / 72, abs=0.01)
    fig.savefig(tmp_path / "half.png", dpi=plotting.DPI / 2)
    assert png_min_text_px(tmp_path / "half.png") == pytest.approx(5 * plotting.DPI / 144,
                                                                   abs=0.01)


def test_alt_text_reads_grouped_bars_per_series_and_plain_horizontal_bars_as_bars():
    from demos.plotting.alt import describe

    fig, ax = plt.subplots()
    fig.suptitle("Grouped")
    ax.bar([0, 1], [1, 2], width=0.4, label="broken")
    ax.bar([0.4, 1.4], [3, 4], width=0.4, label="fixed")
    ax.set_xticks([0.2, 1.2], ["a", "b"])
    ax.set_ylabel("ms")
    said = "Figure: Grouped. Grouped bars of ms: broken: a 1, b 2; fixed: a 3, b 4."
    assert describe(fig) == said
    fig, ax = plt.subplots()
    fig.suptitle("Long warm-\nup")  # a title fit_titles wrapped at its hyphen
    ax.barh(["x", "y"], [3, 5])
    ax.set_xlabel("ms")
    assert describe(fig) == "Figure: Long warm-up. Bars of ms: x 3, y 5."  # not a timeline
    fig, _ = plotting.timeline([("thread 0", 0, 20, "call"), ("thread 1", 1, 21, "call")],
                               title="T")
    assert "A timeline of 2 spans on 2 rows (thread 0, thread 1)" in describe(fig)
    plt.close("all")


def test_number_formats_have_distinct_book_colours_and_an_unknown_one_is_refused():
    colours = [plotting.format_colour(f) for f in ("float16", "bfloat16", "float32", "float64")]
    assert len(set(colours)) == 4  # three greys made float16 and float32 look alike
    assert set(colours[:2]) <= set(plotting.FAMILIES["broken"])
    assert colours[2:] == [plotting.FIXED, plotting.REFERENCE]
    with pytest.raises(ValueError, match=r"format must be one of .*, got 'int8'"):
        plotting.format_colour("int8")
