"""The math of scaling laws: law forms, prior presets and the hierarchical model builder.

No file I/O, no plotting, no arviz: see ``forecast`` for everything that touches data.
"""
