"""Figures: one matplotlib style, drawn from Results only, saved byte-for-byte deterministically.

`topicgen.figures.<experiment>` modules each expose `FIGURES`: figure name -> function
`draw(result) -> matplotlib Figure`.
"""
