"""Matterhorn's memristive synapse unit (MSU): an analog compute-in-memory crossbar fed by M-TTFS spikes.

Source: Matterhorn (arXiv 2601.22876): a 256 x 256 memristive crossbar (0.072 mm^2) integrates the
synaptic currents in the analog domain, so no weight is ever read from memory. How the crossbar is
driven and read is not public; our model (docs/matterhorn.md, "MSU"):

- each signed weight is a differential pair of cells (``cells_per_weight`` = 2), so an array of
  ``rows`` x ``cols`` holds rows x cols / 2 weights; a layer is tiled over ceil(d_in / rows) x
  ceil(d_out * 2 / cols) arrays;
- a spike of the positive (negative) M-TTFS sub-population drives its word line once with +V (-V)
  at its step time (a 1-bit DAC / driver per row); every cell of the row conducts: one cell read each;
- the bit-line currents integrate over the whole window (charge on the column capacitor); at the
  window end each output column pair is sensed (sense amplifier / sample-and-hold) and converted
  once by an ADC of b = ceil(log2(2 rows T + 1)) bits, exact for +-rows * T levels (or set bits);
  partial sums of the row tiles are added digitally.

Energy of one matrix-vector multiply (one input vector, one window) on one array with ``a`` active
(spiking) rows and ``n`` used output columns:

    E_MVM = a * (e_line * cols / 256 + e_driver) + a * n * cpw * e_cell + n * (e_sense + FoM * 2^b)

e_line (word-line C V^2 of a 256-column row), e_cell (V^2 G t) and FoM come from the cost table
(``xbar_row_drive``, ``xbar_cell_read``, ``adc_fom_step``); e_driver, e_sense and the array
geometry from :class:`otters.energy.Hardware` (``xbar_*``). Area: 0.072 mm^2 per 256 x 256 array
(Matterhorn), scaled with the cell count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from otters.energy.costs import CostTable, load_table
from otters.energy.model import Hardware
from otters.errors import OttersError

PAPER_ARRAY_AREA_MM2 = 0.072  # Matterhorn: one 256 x 256 crossbar with its periphery
PAPER_ARRAY_CELLS = 256 * 256
LINE_REFERENCE_COLS = 256  # the cost table's word-line energy is for a 256-column row


@dataclass(frozen=True)
class MSUCounts:
    """Analog and digital events of one linear layer on MSU arrays, per inference.

    ``row_drives``: word-line activations (spikes x column tiles); ``cell_reads``; ``conversions``
    (= sense events) of ``adc_bits`` each; ``partial_sum_adds``: digital adds of row-tile partial
    sums; ``arrays``: crossbars the layer occupies.
    """

    row_drives: float
    cell_reads: float
    conversions: float
    adc_bits: int
    partial_sum_adds: float
    arrays: int


def msu_adc_bits(hw: Hardware, T: int, d_in: int) -> int:
    """ADC resolution: ``hw.xbar_adc_bits``, or exact ceil(log2(2 * rows * T + 1)) for +-rows*T levels."""
    rows = min(hw.xbar_rows, d_in)
    return int(hw.xbar_adc_bits or math.ceil(math.log2(2 * rows * T + 1)))


def msu_linear_counts(hw: Hardware, tokens: int, d_in: int, d_out: int, spikes_per_input: float, T: int) -> MSUCounts:
    """Counts of a d_in x d_out linear layer for ``tokens`` input vectors with ``spikes_per_input``
    spikes per input neuron (M-TTFS: P(q != m) after the dead zone); model in the module docstring."""
    if min(tokens, d_in, d_out) < 1 or not 0.0 <= spikes_per_input <= 1.0:
        raise OttersError("an MSU layer needs tokens, d_in, d_out >= 1 and 0 <= spikes per input <= 1")
    tiles_in = math.ceil(d_in / hw.xbar_rows)
    tiles_out = math.ceil(d_out * hw.xbar_cells_per_weight / hw.xbar_cols)
    spikes = tokens * d_in * spikes_per_input
    conversions = tokens * tiles_in * d_out
    return MSUCounts(
        row_drives=spikes * tiles_out,
        cell_reads=spikes * d_out * hw.xbar_cells_per_weight,
        conversions=conversions,
        adc_bits=msu_adc_bits(hw, T, d_in),
        partial_sum_adds=tokens * (tiles_in - 1) * d_out,
        arrays=tiles_in * tiles_out,
    )


def row_drive_pj(hw: Hardware, table: CostTable) -> float:
    """One word-line activation: the line's C V^2 (scaled from 256 columns to ``xbar_cols``) + driver."""
    return table.value("xbar_row_drive") * hw.xbar_cols / LINE_REFERENCE_COLS + hw.xbar_driver_pj


def mvm_energy(active_rows: float, used_cols: int, T: int = 15, hw: Hardware | None = None,
               table: CostTable | str = "22nm") -> dict:
    """E_MVM (pJ) of one array for one input vector: drives, cells, sensing, ADC, and their total.

    ``active_rows``: spiking inputs on this array (<= rows); ``used_cols``: output column pairs read.
    """
    hw = hw or Hardware()
    table = load_table(table) if isinstance(table, str) else table
    if not 0 <= active_rows <= hw.xbar_rows or not 0 <= used_cols * hw.xbar_cells_per_weight <= hw.xbar_cols:
        raise OttersError(f"an array has {hw.xbar_rows} rows and {hw.xbar_cols // hw.xbar_cells_per_weight} "
                          f"output column pairs; got {active_rows} active rows, {used_cols} outputs")
    bits = msu_adc_bits(hw, T, hw.xbar_rows)
    parts = {
        "row_drive": active_rows * row_drive_pj(hw, table),
        "cells": active_rows * used_cols * hw.xbar_cells_per_weight * table.value("xbar_cell_read"),
        "sense": used_cols * hw.xbar_sense_pj,
        "adc": used_cols * table.adc_pj(bits),
    }
    parts["total"] = sum(parts.values())
    return parts


def msu_area_mm2(arrays: int, hw: Hardware | None = None) -> float:
    """Silicon area of ``arrays`` crossbars: 0.072 mm^2 per 256 x 256 array (Matterhorn), scaled by cells."""
    hw = hw or Hardware()
    return arrays * PAPER_ARRAY_AREA_MM2 * (hw.xbar_rows * hw.xbar_cols) / PAPER_ARRAY_CELLS
