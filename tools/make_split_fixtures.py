#!/usr/bin/env python3
"""Write tests/fixtures/splits/: data sets with an explicit train/val/test split, built from
the 36 images of tests/fixtures/data/tiny.zip (cat, dog, fish; 12 each).

Recipe (from the repo root, deterministic: fixed zip timestamps, sorted names):

    python3 tools/make_split_fixtures.py

Files:
    folders.zip    train/<class>/ (images 000-006), val/<class>/ (007-008), test/<class>/
                   (009-011), plus train/readme.txt and train/loose.png (skipped);
                   per class: train 7, val 2, test 3
    manifest.zip   images/<class>_<nnn>.png in one flat folder and manifest.csv
                   (path,label,split) with the same parts, plus images/extra.png (not
                   listed: skipped) and a listed missing file (skipped)
    manifest.json  the same manifest as JSON (its rows must read as the CSV's)
    counts.json    the loaded count per class per part, by construction
"""
import io
import json
import os
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "tests", "fixtures", "data", "tiny.zip")
OUT = os.path.join(ROOT, "tests", "fixtures", "splits")
STAMP = (2020, 1, 1, 0, 0, 0)


def part_of(index):
    return "train" if index <= 6 else "val" if index <= 8 else "test"


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(entries.items()):
            z.writestr(zipfile.ZipInfo(name, STAMP), data)


def main():
    src = zipfile.ZipFile(SRC)
    images = {n: src.read(n) for n in sorted(src.namelist()) if n.endswith(".png")}
    os.makedirs(OUT, exist_ok=True)
    folders, flat, rows = {}, {}, []
    counts = {}
    for name, data in images.items():
        cls, file = name.split("/")
        part = part_of(int(file[:3]))
        folders[f"{part}/{cls}/{file}"] = data
        flat_name = f"images/{cls}_{file}"
        flat[flat_name] = data
        rows.append({"path": flat_name, "label": cls, "split": part})
        counts.setdefault(part, {}).setdefault(cls, 0)
        counts[part][cls] += 1
    first = next(iter(images.values()))
    folders["train/readme.txt"] = b"not an image\n"
    folders["train/loose.png"] = first
    write_zip(os.path.join(OUT, "folders.zip"), folders)
    flat["images/extra.png"] = first
    listed = rows + [{"path": "images/missing.png", "label": "cat", "split": "test"}]
    csv = "path,label,split\n" + "".join(f"{r['path']},{r['label']},{r['split']}\n" for r in listed)
    flat["manifest.csv"] = csv.encode()
    write_zip(os.path.join(OUT, "manifest.zip"), flat)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(rows, f, indent=0)
        f.write("\n")
    with open(os.path.join(OUT, "counts.json"), "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
