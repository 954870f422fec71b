/**
 * One `POST /api/v1/readings?ack=accepted` from a bench phase that sets up load (activations,
 * paced ingest): a 503 is retried after its Retry-After (capped at 1 s, at most 30 times), as a
 * device would; any other answer than 202 fails the phase.
 */
export const postReadings = async (origin: string, readings: ReadonlyArray<{ sensor: string; ts: number; value: number }>): Promise<void> => {
  for (let attempt = 0; attempt < 30; attempt++) {
    const r = await fetch(`${origin}/api/v1/readings?ack=accepted`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ readings })
    })
    const text = await r.text()
    if (r.status === 202) return
    if (r.status !== 503) throw new Error(`ingest answered ${r.status}: ${text}`)
    await new Promise((done) => setTimeout(done, Math.min(1_000, Number(r.headers.get("retry-after") ?? 1) * 1_000)))
  }
  throw new Error("ingest kept answering 503")
}
