"""The guide's plot: eval loss vs global step, from ``all_metrics.csv``.

Usage (from the repository root, after measure_loss.sh)::

  python experiments/simple_example_mnist_loss/plot_loss.py [INPUT] [OUTPUT]

INPUT is ``all_metrics.csv`` or the LOG_DIR holding it (default:
``logs/all_metrics.csv`` next to this script); OUTPUT the PNG (default:
``plot_loss.png`` next to this script). Uses seaborn when it is installed and
plain matplotlib otherwise; either way a line per trial (trials evaluate at
different steps, so averaging them step by step, as the guide's one-line
``sns.lineplot`` did, would mix trials).
"""

import os
import sys

import matplotlib

matplotlib.use('Agg')  # files only: no display needed

import matplotlib.pyplot as plt
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    if len(argv) > 2 or any(a in ('-h', '--help') for a in argv):
        print(__doc__)
        return 0 if argv and argv[0] in ('-h', '--help') else 2
    input_file = argv[0] if argv else os.path.join(HERE, 'logs', 'all_metrics.csv')
    if os.path.isdir(input_file):
        input_file = os.path.join(input_file, 'all_metrics.csv')
    output_file = argv[1] if len(argv) > 1 else os.path.join(HERE, 'plot_loss.png')
    if not os.path.isfile(input_file):
        print(
            f'plot_loss: error: {input_file} not found; run measure_loss.sh first', file=sys.stderr
        )
        return 2

    # Read Data
    df = pd.read_csv(input_file)
    df = df.dropna(subset=['global_step', 'loss'])
    if df.empty:
        print(f'plot_loss: error: {input_file} has no eval rows', file=sys.stderr)
        return 2
    # One label per trial; with both frameworks in one LOG_DIR, say which.
    several = df['framework'].nunique() > 1
    df['trial'] = [
        f'{fw} trial {int(i)}' if several else f'trial {int(i)}'
        for fw, i in zip(df['framework'], df['run_idx'], strict=True)
    ]

    # Plot
    fig, ax = plt.subplots()
    try:
        import seaborn as sns

        sns.set_theme()
        sns.lineplot(data=df, ax=ax, x='global_step', y='loss', hue='trial', marker='o')
    except ImportError:
        for label, trial in df.groupby('trial', sort=False):
            ax.plot(trial['global_step'], trial['loss'], marker='o', label=label)
        ax.grid(True, alpha=0.3)
        ax.legend()

    # Style
    ax.set_ylabel('Loss')
    ax.set_xlabel('Global Step')

    # Save
    fig.savefig(output_file, transparent=False, dpi=160, bbox_inches='tight')
    print(f'wrote {output_file}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
