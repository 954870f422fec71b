/** Set once on Ctrl-C / SIGTERM: every load and insert loop checks it and ends early. */
let aborted = false

export const abortAll = (): void => {
  aborted = true
}

export const isAborted = (): boolean => aborted
