/**
 * The credential of this tab: session storage only (gone when the tab closes, never in a URL or
 * in local storage shared by every tab). Storage that is unavailable (a locked-down browser) just
 * means signing in again.
 */
const KEY = "flowmesh.credential"

export const storedCredential = (): string | null => {
  try {
    return sessionStorage.getItem(KEY)
  } catch {
    return null
  }
}

export const storeCredential = (credential: string): void => {
  try {
    sessionStorage.setItem(KEY, credential)
  } catch {
    // Kept in memory for this page only.
  }
}

export const forgetCredential = (): void => {
  try {
    sessionStorage.removeItem(KEY)
  } catch {
    // Nothing was stored.
  }
}
