/**
 * A hostile fiduciary for the end-to-end tests: `NODE_OPTIONS=--import <this file>` with
 * `MILAGRO_TEST_ROGUE=dkg-share` or `=release-share` makes an otherwise real `milagro daemon`
 * process misbehave in one precise way, by swapping one module for a wrapper in this folder
 * (Node's synchronous module hooks, `module.registerHooks`). The wrapper re-exports the real
 * module and replaces one function; everything else — keys, signatures, sealing, HTTP — is the
 * real code, so the misbehaviour reaches the other parties signed and sealed as an honest one
 * would. Nothing under src/ knows about this.
 * @module
 */
import { registerHooks } from 'node:module'

const ROGUE = process.env.MILAGRO_TEST_ROGUE
const SWAPS: Record<string, [string, string]> = {
  'dkg-share': ['/src/crypto/frost-dkg.ts', new URL('./frost-dkg.ts', import.meta.url).href],
  'release-share': ['/src/core/order.ts', new URL('./order.ts', import.meta.url).href],
}
const swap = ROGUE === undefined ? undefined : SWAPS[ROGUE]
if (ROGUE !== undefined && swap === undefined) throw new Error(`MILAGRO_TEST_ROGUE: unknown behaviour ${ROGUE}`)
const HERE = new URL('./', import.meta.url).href

if (swap !== undefined) {
  registerHooks({
    resolve (specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context)
      // the wrapper itself imports the real module
      if (resolved.url.endsWith(swap[0]) && context.parentURL?.startsWith(HERE) !== true) return { ...resolved, url: swap[1] }
      return resolved
    },
  })
}
