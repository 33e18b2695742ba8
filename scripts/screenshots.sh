#!/usr/bin/env bash
# Re-makes the README's screenshots in docs/images/ from a real sweep:
#   console.png             the runner's console during and after a sweep (tmux capture-pane)
#   plot_loss.png, plot_best_loss.png, plot_hardware.png   `python -m algorithmic_efficiency.plot`
#   dashboard.png, dashboard_telemetry.png   the dashboard in headless Chromium at 1400x1000
# Needs tmux, chromium and chromium-driver (Debian apt) and selenium (the dashboard extra).
# Takes about two minutes.
# Usage: scripts/screenshots.sh [WORK_DIR]   (default: a fresh temporary directory)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
WORK="${1:-$(mktemp -d)}"
OUT="$ROOT/docs/images"
LOG_DIR="$WORK/logs"
SESSION="ae_screens_$$"
mkdir -p "$OUT" "$WORK"
rm -rf "$LOG_DIR"
for tool in tmux chromium chromedriver; do
  command -v "$tool" >/dev/null || { echo "screenshots: needs $tool (apt-get install $tool)" >&2; exit 2; }
done
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

# 1. The console: the sweep runs in a 130x40 tmux pane; captured mid-sweep and at the end.
SWEEP="cd '$ROOT' && '$PY' -m algorithmic_efficiency.submission_runner --workload=mnist_jax \
--submission_path=baselines/mnist/mnist_jax/submission.py \
--tuning_search_space=baselines/mnist/tuning_search_space.json --num_tuning_trials=3 \
--rng_seed=0 --max_submission_time_sec=20 --progress_interval_sec=4 --log_dir='$LOG_DIR'; \
echo SWEEP-DONE; sleep 600"
tmux new-session -d -s "$SESSION" -x 130 -y 40 "$SWEEP"
trap 'tmux kill-session -t "$SESSION" 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  tmux capture-pane -p -t "$SESSION" | grep -q SWEEP-DONE && break
  sleep 1
done
tmux capture-pane -p -J -S -200 -t "$SESSION" | grep -v SWEEP-DONE > "$WORK/console.txt"
tmux kill-session -t "$SESSION"
"$PY" - "$WORK/console.txt" "$OUT/console.png" <<'EOF'
import sys

from matplotlib.figure import Figure

text = open(sys.argv[1]).read().rstrip('\n')
lines = text.splitlines()
width = max(len(line) for line in lines)
fig = Figure(figsize=(0.075 * width + 0.4, 0.17 * len(lines) + 0.4), facecolor='#1e1e1e')
fig.text(0.01, 0.99, text, family='monospace', fontsize=9, color='#d4d4d4', va='top')
fig.savefig(sys.argv[2], dpi=110, facecolor=fig.get_facecolor())
print(sys.argv[2])
EOF

# 2. The plots.
"$PY" -m algorithmic_efficiency.plot "$LOG_DIR" --out "$WORK/plots" --dpi 100 >/dev/null
cp "$WORK/plots/loss_vs_step.png" "$OUT/plot_loss.png"
cp "$WORK/plots/best_loss_vs_evals.png" "$OUT/plot_best_loss.png"
cp "$WORK/plots/hardware.png" "$OUT/plot_hardware.png"
cp "$WORK/plots/accuracy_vs_time.png" "$OUT/accuracy_vs_time.png"

# 3. The dashboard, on a free port; stopped by its PID.
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$PY" -m algorithmic_efficiency.dashboard "$LOG_DIR" --port "$PORT" --refresh 0 \
  >"$WORK/dashboard.log" 2>&1 &
DASH=$!
trap 'kill "$DASH" 2>/dev/null || true; tmux kill-session -t "$SESSION" 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$PORT/_stcore/health" >/dev/null 2>&1 && break
  sleep 1
done
PROFILE="$(mktemp -d)"
# Selenium + chromedriver (the dashboard's browser test's tools): the page draws after its
# websocket connects, so wait for the charts rather than for the load event.
"$PY" - "http://127.0.0.1:$PORT/" "$OUT" "$PROFILE" <<'EOF'
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, out, profile = sys.argv[1:]
options = webdriver.ChromeOptions()
options.binary_location = '/usr/bin/chromium'
for flag in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', '--no-first-run',
             f'--user-data-dir={profile}', '--window-size=1400,1000', '--hide-scrollbars'):
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=options)
try:
    driver.set_page_load_timeout(60)
    driver.get(url)
    WebDriverWait(driver, 120).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '.js-plotly-plot g.parcoords'))
    time.sleep(2)
    driver.save_screenshot(f'{out}/dashboard.png')
    tab = [t for t in driver.find_elements(By.CSS_SELECTOR, '[role=tab]')
           if (t.get_attribute('textContent') or '').strip() == 'Telemetry']
    tab[0].click()
    WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(
        By.CSS_SELECTOR, '.js-plotly-plot .scatterlayer')) >= 2)
    time.sleep(2)
    driver.save_screenshot(f'{out}/dashboard_telemetry.png')
finally:
    driver.quit()
EOF
kill "$DASH"
rm -rf "$PROFILE"
ls -l "$OUT"/console.png "$OUT"/plot_*.png "$OUT"/dashboard*.png
