"""The runs dashboard (Streamlit + Plotly); started by ``python -m algorithmic_efficiency.dashboard``."""
