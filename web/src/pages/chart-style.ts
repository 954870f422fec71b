/** The charts' shared look: the accent line, the suspect points, the min–max band's edges, the height. */
export const ACCENT = "#0a58a8"
export const SUSPECT = "#b3261e"
export const BAND_LINE = "#7f9cc0"
export const CHART_HEIGHT = 260
