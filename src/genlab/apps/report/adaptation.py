"""The table of `genlab adapt`: classifier accuracy per row (mean ± std over seeds), with DANN's published
numbers beside the MNIST -> mnistm rows."""

from __future__ import annotations

from typing import Any

# DANN (Ganin et al., JMLR 2016) Table 2, MNIST -> MNIST-M accuracy, on MNIST-M made from BSDS500 photos
ANCHORS = {"source_only": 0.5225, "dann": 0.7666, "target": 0.9596}
ANCHOR_PAIR = ("mnist", "mnistm")


def format_table(report: dict[str, Any]) -> str:
    """A markdown table of the rows (mean ± std over seeds), beside DANN's numbers for MNIST -> MNIST-M."""
    rows, translators = report["rows"], report["translators"]
    source, target = report["source"], report["target"]
    anchors = (source, target) == ANCHOR_PAIR
    paper = {"source_only": f"{ANCHORS['source_only']:.4f}", "target": f"{ANCHORS['target']:.4f}"}
    dann = f"{ANCHORS['dann']:.4f} (DANN)"  # the paper's adapted row stands beside every translated row
    header = f"| classifier trained on | accuracy on {target} test |"
    lines = [header + (" DANN paper, MNIST→MNIST-M |" if anchors else ""), "|---|---|" + ("---|" if anchors else "")]
    for row, r in rows.items():
        t = translators.get(row)
        name = {"source_only": f"source only ({source})", "target": f"train on target ({target})"}.get(
            row
        ) or f"translated {source} -> {target} ({t['model']} {t['direction']} of {t['run']})"
        note = f" {paper.get(row, dann)} |" if anchors else ""
        lines.append(f"| {name} | {r['mean']:.4f} ± {r['std']:.4f} |{note}")
    lines += group_lines(report.get("translator_groups", []), source, target, f" {dann} |" if anchors else "")
    seeds = report["seeds"]
    lines.append(
        f"\nmean ± std over {len(seeds)} seed(s) {', '.join(map(str, seeds))}; "
        f"{report['test_images']} {report['test']} images; same classifier, preset and "
        f"{report['classifier']['image_size']} px x {report['classifier']['channels']} channels in every row"
    )
    if not translators:
        lines.append(
            f"no --translator: no translated row; train one with `genlab train cyclegan --data "
            f"unpaired:{source},{target} --preset digits --out runs/translator`"
        )
    if anchors:
        lines.append(
            "DANN numbers: Ganin et al. (JMLR 2016) Table 2 on the original MNIST-M (BSDS500 photo "
            "patches); genlab's mnistm blends other photos (scikit-image's), so compare the gaps, not "
            "the digits"
        )
    return "\n".join(lines)


def group_lines(groups: list[dict], source: str, target: str, note: str) -> list[str]:
    """Table rows for recipes trained with several translator seeds: mean ± std over the translators."""
    lines = []
    for g in groups:
        if len(g["rows"]) < 2:
            continue
        seeds = ", ".join(map(str, g["translator_seeds"]))
        lines.append(
            f"| translated {source} -> {target}: {len(g['rows'])} {g['model']} {g['direction']} translators "
            f"(train.seed {seeds}), lowest {g['min']:.4f} | {g['mean']:.4f} ± {g['std']:.4f} over "
            f"translators |{note}"
        )
    return lines
