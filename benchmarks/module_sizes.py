"""Print a line count per module of the three packages, largest first (growth is visible)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("einsum_cascade", "mappers", "kernels")


def main() -> None:
    """Print the table and the total."""
    rows = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
            rows.append((lines, path.relative_to(ROOT).as_posix()))
    rows.sort(reverse=True)
    width = max(len(name) for _, name in rows)
    for lines, name in rows[:15]:
        print(f"{name:<{width}}  {lines:5d}")
    print(f"{'total (' + str(len(rows)) + ' modules)':<{width}}  {sum(n for n, _ in rows):5d}")


if __name__ == "__main__":
    main()
