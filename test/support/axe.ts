/**
 * axe-core's accessibility rules (WCAG 2.1 A and AA: labels, names, contrast, ARIA use, landmarks)
 * run in a page as it is. Evaluated through the driver, so the page's own CSP (script-src 'self')
 * does not have to let it in.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import type { Page } from "playwright-core"

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

export interface AxeViolation {
  readonly rule: string
  readonly impact: string | null
  readonly help: string
  readonly targets: ReadonlyArray<string>
}

/** Every WCAG 2.1 A/AA violation on the page now, with up to five of the elements each names. */
export const axeViolations = async (page: Page): Promise<ReadonlyArray<AxeViolation>> => {
  if (!(await page.evaluate("typeof window.axe === 'object'"))) await page.evaluate(`${AXE_SOURCE};0`)
  return (await page.evaluate(`axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }).then((r) =>
    r.violations.map((v) => ({ rule: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) })))`)) as ReadonlyArray<AxeViolation>
}
