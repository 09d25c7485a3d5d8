// A table row as the analysis and the tasks' analysis hooks see it: a cell is a string as read from
// a CSV file, or a number, boolean or missing value computed from one. Below both folders, so that
// tasks describe their analysis without importing it.
export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;
