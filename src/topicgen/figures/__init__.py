"""Figures: one matplotlib style, drawn from Results only, saved byte-for-byte deterministically.

An experiment's figures file (`<stem>_figures.py` beside it in its topic) exposes `FIGURES`:
figure name -> function `draw(result) -> matplotlib Figure`.
"""
