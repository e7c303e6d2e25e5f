/**
 * Lifecycle of anything that holds sockets, timers or file handles. `stop()` releases all of them
 * and is safe to call twice; `start()` after `stop()` is not required to work.
 * @module
 */
export interface Startable {
  start (): Promise<void>
  stop (): Promise<void>
}
