#!/usr/bin/env bash
# `ectrain report` end to end: two runs trained on generated click data (one with a validation set
# and a best checkpoint kept, one without), written as one HTML page and opened in headless
# Chromium. The page holds one chart per figure the runs logged (counted from their metrics.jsonl
# here, independently), each with drawn data, ticks and labels; the screenshot shows each series and
# bar in its colour where the browser laid it out; nothing is fetched. A run without its done line
# is reported as such; a folder without metrics.jsonl, a malformed line and an unwritable --out are
# errors that say where.
# Usage: tests/e2e/report_test.sh path/to/ectrain   (run from the top of the repository)
set -u
ECTRAIN=$(realpath "${1:?usage: report_test.sh path/to/ectrain}")
source "$(dirname "$0")/lib.sh"
need_python_modules PIL
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "SKIPPED: ${TEST_NAME:-report_test}: needs chromium for the headless browser checks (apt-get install chromium)"
  exit 77
fi

"$ECTRAIN" generate --out "$TMP/gen/train.h5" --rows 20000 --validation-rows 3000 --test-rows 3000 --users 500 \
  --items 200 --categories 10 --dense 2 --recent-items 0 --seed 5 >"$TMP/generate.log" 2>&1 ||
  fail "generate click data" "$TMP/generate.log"
cat >"$TMP/run.yaml" <<YAML
data:
  train: $TMP/gen/train.h5
  test: $TMP/gen/test.h5
  label: clicked
  categorical: [user, item, category]
  dense: [d0, d1]
model: {type: mlp, embedding_dim: 8, hidden_units: [16]}
optimizer: {type: adam, learning_rate: 0.002}
train: {epochs: 3, global_batch_size: 256, seed: 1, log_every_steps: 20}
eval: {every_epochs: 1}
YAML
"$ECTRAIN" train "$TMP/run.yaml" --set train.output_dir="$TMP/plain" >"$TMP/plain.log" 2>&1 ||
  fail "the run without validation trains" "$TMP/plain.log"
"$ECTRAIN" train "$TMP/run.yaml" --set train.output_dir="$TMP/validated" --set data.validation="$TMP/gen/validation.h5" \
  --set checkpoint.keep_best=auc --set optimizer.schedule=cosine >"$TMP/validated.log" 2>&1 ||
  fail "the run with validation trains" "$TMP/validated.log"

"$ECTRAIN" report "$TMP/plain" "$TMP/validated/" --out "$TMP/report.html" >"$TMP/report.log" 2>&1
rc=$?
charts=$(sed -n 's/^wrote .*report.html: 2 runs, \([0-9]*\) charts$/\1/p' "$TMP/report.log")
[ "$rc" -eq 0 ] && [ -n "$charts" ] && pass "report writes the page ($charts charts)" ||
  fail "report (exit $rc)" "$TMP/report.log"
! grep -Eqi 'https?://|<script|<link|src=' "$TMP/report.html" && pass "the page fetches nothing: no URL, script or link" ||
  fail "the page refers to something outside it" "$TMP/report.html"

# The page as the browser lays it out: a copy with a script that records each chart's box, and
# each series' and bar's box and colour, on <body>; then a screenshot of the page itself.
browser() { timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
  --user-data-dir="$TMP/chromium" "$@" 2>>"$TMP/chromium.log"; }
sed 's#</body>#<script>\
const box = e => { const r = e.getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height]; };\
const charts = [...document.querySelectorAll("figure.chart")].map(f => ({id: f.dataset.chart, box: box(f),\
  data: [...f.querySelectorAll("g.series")].map(g => ({color: g.querySelector("polyline,circle").getAttribute(g.querySelector("polyline") ? "stroke" : "fill"), box: box(g)}))\
    .concat([...f.querySelectorAll("g.bar rect")].map(r => ({color: r.getAttribute("fill"), box: box(r)})))}));\
document.body.setAttribute("data-layout", JSON.stringify({height: document.documentElement.scrollHeight, charts}));\
</script></body>#' "$TMP/report.html" >"$TMP/measured.html"
browser --window-size=1200,3000 --dump-dom "file://$TMP/measured.html" >"$TMP/dom.html" ||
  fail "chromium --dump-dom" "$TMP/chromium.log"
height=$("$PY" -c "
import html, json, re, sys
print(json.loads(html.unescape(re.search(r'data-layout=\"([^\"]*)\"', open(sys.argv[1]).read()).group(1)))['height'])
" "$TMP/dom.html") || fail "the page's layout from the browser" "$TMP/dom.html"
browser --window-size="1200,${height:-3000}" --screenshot="$TMP/report.png" "file://$TMP/report.html" >/dev/null ||
  fail "chromium --screenshot" "$TMP/chromium.log"

"$PY" - "$TMP" "$charts" <<'PY' && pass "every chart the data calls for is there, drawn, and visible in its colours" ||
import html, json, math, re, sys
from html.parser import HTMLParser
from PIL import Image

tmp, printed = sys.argv[1], int(sys.argv[2] or -1)
runs = {name: [json.loads(l) for l in open(f"{tmp}/{name}/metrics.jsonl")] for name in ("plain", "validated")}

# What the runs logged calls for: the training curves, a chart per metric of each evaluated set
# (but the row count and the rows' positive rate), step time and memory from the done lines.
expected = set()
for lines in runs.values():
    trained = [l for l in lines if l["event"] in ("step", "epoch")]
    for key, chart in (("train_loss", "train_loss"), ("learning_rate", "learning_rate"),
                       ("samples_per_second", "throughput")):
        if any(l.get(key) is not None for l in trained):
            expected.add(chart)
    for l in lines:
        if l["event"] == "eval":
            for s in ("validation", "test"):
                expected |= {f"{s}.{m}" for m, v in l.get(s, {}).items()
                             if isinstance(v, (int, float)) and m not in ("count", "positive_rate")}
        if l["event"] == "done":
            expected |= {"step_time", "memory"}
assert "validation.auc" in expected and "test.auc" in expected, expected

# The browser's DOM: each chart, its series (points), bars, tick labels.
class Charts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.layout, self.text_class = [], None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.layout = json.loads(a["data-layout"])
        if tag == "figure" and "chart" in a.get("class", "").split():
            self.charts.append({"id": a["data-chart"], "kind": a["data-kind"], "polylines": [], "circles": 0,
                                "bars": [], "ticks": 0, "labels": 0, "series": []})
        if not self.charts:
            return
        c = self.charts[-1]
        if tag == "g" and "series" in a.get("class", ""):
            c["series"].append(a["data-series"])
        if tag == "polyline":
            c["polylines"].append(len(a["points"].split()))
        if tag == "circle":
            c["circles"] += 1
        if tag == "rect" and a.get("fill") and "frame" not in a.get("class", "") and a.get("height") == "16.0":
            c["bars"].append(float(a["width"]))
        if tag == "text":
            c["ticks"] += a.get("class") == "tick"
            c["labels"] += a.get("class") == "label"

dom = Charts()
dom.feed(open(f"{tmp}/dom.html").read())
got = [c["id"] for c in dom.charts]
assert len(got) == len(set(got)), got
assert set(got) == expected, f"charts {sorted(got)} but the data calls for {sorted(expected)}"
assert len(got) == printed, f"{len(got)} charts in the page, {printed} printed"
steps = {name: sum(l["event"] == "step" for l in lines) for name, lines in runs.items()}
for c in dom.charts:
    assert c["ticks"] >= 4, c  # tick labels on the axes
    if c["kind"] == "line":
        assert c["labels"] == 2, c  # x and y axis labels
        assert set(c["series"]) <= set(runs), c
        assert any(n > 1 for n in c["polylines"]) or c["circles"] > 0, c
    else:
        assert any(w > 0 for w in c["bars"]), c
loss = next(c for c in dom.charts if c["id"] == "train_loss")
assert sorted(loss["polylines"]) == sorted(steps.values()) and min(steps.values()) > 5, (loss, steps)
assert sorted(next(c for c in dom.charts if c["id"] == "validation.auc")["series"]) == ["validated"]
assert sorted(next(c for c in dom.charts if c["id"] == "test.auc")["series"]) == ["plain"]

# The screenshot: every series and every bar wider than 3 px shows pixels of its colour in the box
# the browser gave it, and every chart's box holds more than a frame.
shot = Image.open(f"{tmp}/report.png").convert("RGB")
assert shot.size[1] >= dom.layout["height"] - 1, (shot.size, dom.layout["height"])
def near(pixels, color):
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return sum(abs(p[0] - r) + abs(p[1] - g) + abs(p[2] - b) < 40 for p in pixels)
def crop(box):
    x, y, w, h = box
    raw = shot.crop((math.floor(x), math.floor(y), math.ceil(x + w), math.ceil(y + h))).tobytes()
    return [tuple(raw[i:i + 3]) for i in range(0, len(raw), 3)]
assert len(dom.layout["charts"]) == len(got)
for chart in dom.layout["charts"]:
    pixels = crop(chart["box"])
    assert sum(p != (255, 255, 255) for p in pixels) > 0.01 * len(pixels), chart["id"]
    checked = 0
    for item in chart["data"]:
        if item["box"][2] < 3:
            continue
        found = near(crop(item["box"]), item["color"])
        assert found >= 5, f"{chart['id']}: {found} pixels of {item['color']} in {item['box']}"
        checked += 1
    assert checked > 0, chart
PY
  fail "the charts in the browser" "$TMP/chromium.log"

# A run still training has no done line yet: said so, and no step-time or memory chart for it.
mkdir -p "$TMP/going"
grep -v '"event":"done"' "$TMP/plain/metrics.jsonl" >"$TMP/going/metrics.jsonl"
expect_exit "a run without its done line is reported as still going" 0 "wrote .*going.html: 1 run, [0-9]+ charts" -- \
  "$ECTRAIN" report "$TMP/going" --out "$TMP/going.html"
grep -q "<b>going</b>: no <code>done</code> line in metrics.jsonl yet" "$TMP/going.html" &&
  ! grep -Eq 'data-chart="(step_time|memory)"' "$TMP/going.html" && grep -q 'data-chart="train_loss"' "$TMP/going.html" &&
  pass "the page says the run has no done line and draws its curves" || fail "the page of a run still going" "$TMP/going.html"

# Errors name the folder, file and line, or the path and the reason.
expect_exit "a folder without metrics.jsonl" 1 "$TMP/gen has no metrics.jsonl: .*train.output_dir" -- \
  "$ECTRAIN" report "$TMP/plain" "$TMP/gen" --out "$TMP/x.html"
mkdir -p "$TMP/broken"
sed '3s/.*/{"event":"step","step":/' "$TMP/plain/metrics.jsonl" >"$TMP/broken/metrics.jsonl"
expect_exit "a malformed line" 1 "$TMP/broken/metrics.jsonl line 3 is not JSON" -- \
  "$ECTRAIN" report "$TMP/broken" --out "$TMP/x.html"
expect_exit "an unwritable --out" 1 "cannot write $TMP/report.html/x.html: Not a directory" -- \
  "$ECTRAIN" report "$TMP/plain" --out "$TMP/report.html/x.html"
expect_exit "no run folder" 2 "run_dirs is required" -- "$ECTRAIN" report --out "$TMP/x.html"
[ ! -e "$TMP/x.html" ] && pass "a failed report writes nothing" || fail "a failed report left $TMP/x.html"
finish report
