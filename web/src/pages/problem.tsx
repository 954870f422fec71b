/** What went wrong, as an alert line ("Could not load the alerts: …"); nothing when all is well. */
export const Problem = ({ what, message }: { readonly what: string; readonly message: string | null }) =>
  message === null ? null : (
    <p class="error" role="alert">
      {what}: {message}
    </p>
  )
