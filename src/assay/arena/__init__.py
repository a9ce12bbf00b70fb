"""The arena: battles between models (judged, voted or imported) and the ratings they give.

battles  Battle records, the battles table, reading Chatbot Arena's file format
ratings  Bradley–Terry ratings on the Elo scale, bootstrap intervals, online Elo
judged   battles between stored runs, decided by a pairwise judge
plot     the ratings with their intervals as a PNG
"""

from __future__ import annotations

from assay.arena.battles import (
    Battle,
    frame_to_battles,
    load_battles,
    read_battles_file,
    save_battles,
)
from assay.arena.ratings import Ratings, compute_ratings

__all__ = [
    "Battle",
    "Ratings",
    "compute_ratings",
    "frame_to_battles",
    "load_battles",
    "read_battles_file",
    "save_battles",
]
