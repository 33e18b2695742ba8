"""The runs dashboard (Streamlit + Plotly): ``python -m algorithmic_efficiency.dashboard``."""
