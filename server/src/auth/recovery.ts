import type { Namespace } from 'socket.io';

/**
 * socket.io's connection-state recovery sends a returning socket the packets it missed before any
 * middleware runs, so a token check at reconnection comes too late to hold them back. This lets a
 * namespace's sessions be restored only while `allowed(socket.data)` holds; any other returning socket
 * connects afresh, through the middleware, with nothing replayed.
 */
export function guardRecovery(namespace: Namespace, allowed: (data: Record<string, unknown>) => boolean): void {
  const adapter = namespace.adapter;
  const restore = adapter.restoreSession.bind(adapter);
  adapter.restoreSession = async (pid, offset) => {
    const session = await restore(pid, offset);
    // The adapter's own type says a session always comes back; it is null when none can be restored.
    return session && allowed(session.data as Record<string, unknown>) ? session : (null as unknown as typeof session);
  };
}
