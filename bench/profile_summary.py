"""Summarise a py-spy speedscope profile: the functions with most inclusive and own time.

python bench/profile_summary.py PROFILE.json [--top 30] [--filter shopify_sync]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--filter", default="", help="only frames whose file contains this")
    args = parser.parse_args()
    with open(args.profile) as source:
        data = json.load(source)
    frames = data["shared"]["frames"]
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0.0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            total += weight
            names = []
            for index in stack:
                frame = frames[index]
                names.append(
                    f"{frame['name']} ({frame.get('file', '').split('site-packages/')[-1]}:{frame.get('line', '')})"
                )
            for name in set(names):
                if args.filter in name:
                    inclusive[name] += weight
            if names and args.filter in names[-1]:
                own[names[-1]] += weight
    print(f"total samples weight {total:.0f}")
    print("\ninclusive:")
    for name, weight in inclusive.most_common(args.top):
        print(f"{100 * weight / total:5.1f}%  {name}")
    print("\nown:")
    for name, weight in own.most_common(args.top):
        print(f"{100 * weight / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
