// The audit trail's operations, as the API's `op` filter accepts them (src/ports/state.ts
// AUDIT_OPS; test/unit/http/console.test.ts keeps the two lists equal).
export const AUDIT_OPS = ['identity.created', 'order.created', 'order.refused', 'seed.created', 'seed.released', 'seed.resealed', 'release.refused', 'custody.rotated', 'access.denied']
