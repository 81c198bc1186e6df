import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { FrameTapOptions } from './media/FrameTap.ts';

/** The affect model this repository ships (models/MODEL_CARD.md). */
export const SHIPPED_AFFECT_MODEL = fileURLToPath(new URL('../../models/affect/fpn-maa-realtime.onnx', import.meta.url));

/**
 * The one place that reads the environment. Everything else receives plain, validated objects.
 * Every variable is optional: the defaults run the service on one machine out of the box.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const EnvSchema = z.object({
  /** Loopback by default: the open (no token) mode is for a demo on this machine only. */
  HOST: z.string().default('127.0.0.1'),
  PORT: int(0, 65535).default(3000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Other origins whose pages may use this server (comma-separated); its own origin always may. */
  ALLOWED_ORIGINS: z.string().default(''),
  /** An HTTP connection silent this long is closed (socket.io's pings keep its own connections busier). */
  HTTP_IDLE_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  /** When set, GET /metrics needs `Authorization: Bearer <it>`. */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** PEM files: when both are set the server speaks HTTPS (browsers give the camera only to https:// or localhost). */
  TLS_CERT: z.string().min(1).optional(),
  TLS_KEY: z.string().min(1).optional(),

  // who may join
  /** token: a signed participant token per join; open: anyone who can reach the server joins any room. */
  CALL_AUTH: z.enum(['token', 'open']).default('open'),
  /** Open mode on an address other machines reach: refused unless this says it is meant. */
  CALL_AUTH_FORCE_OPEN: z.stringbool().default(false),
  /** Signs and checks participant and subscriber tokens (HS256: 32+ characters). */
  TOKEN_SECRET: z.string().min(32).optional(),

  // mediasoup
  MEDIASOUP_WORKERS: int(1, 64).default(os.availableParallelism()),
  MEDIASOUP_LISTEN_IP: z.string().default('0.0.0.0'),
  /** The address browsers reach the SFU on; defaults to the first non-internal IPv4 (127.0.0.1 if none). */
  MEDIASOUP_ANNOUNCED_ADDRESS: z.string().optional(),
  RTC_MIN_PORT: int(1024, 65535).default(40000),
  RTC_MAX_PORT: int(1024, 65535).default(49999),

  // limits
  MAX_ROOMS: int(1, 100000).default(100),
  MAX_PEERS_PER_ROOM: int(1, 1000).default(16),
  MAX_PRODUCERS_PER_PEER: int(1, 16).default(4),
  MAX_DISPLAY_NAME_LENGTH: int(1, 200).default(64),
  /** socket.io connections one client address may hold (both namespaces; a browser tab holds 1-2). */
  MAX_CONNECTIONS_PER_IP: int(1, 100000).default(64),
  /** Distinct rooms one client address may have peers in: it cannot fill MAX_ROOMS alone. */
  MAX_ROOMS_PER_IP: int(1, 100000).default(8),
  /** Behind a reverse proxy: the client address is the last X-Forwarded-For entry, not the proxy's. */
  TRUST_PROXY: z.stringbool().default(false),

  // WHIP publishers (POST /whip/:room)
  /** WHIP sessions open at once on this node; each is a peer of its room (MAX_PEERS_PER_ROOM counts it). */
  MAX_WHIP_SESSIONS: int(1, 10000).default(16),
  /** A WHIP session whose video received nothing for this long (never connected, or went silent) is ended. */
  WHIP_NO_MEDIA_TIMEOUT_MS: int(1000, 600_000).default(10_000),
  /** The largest SDP offer or PATCH body taken (a browser's audio and video offer is 5-10 kB). */
  WHIP_MAX_SDP_BYTES: int(1024, 1_000_000).default(32_768),

  // frame tap
  TAP_ENABLED: z.stringbool().default(true),
  TAP_WIDTH: int(16, 3840).default(640),
  TAP_HEIGHT: int(16, 2160).default(480),
  /** Of a simulcast sender, the smallest layer at least 1/this of its full resolution is analysed; 1: the full layer. */
  TAP_LAYER_MAX_DOWNSCALE: z.coerce.number().min(1).max(16).default(2),
  TAP_FPS: int(1, 60).default(15),
  TAP_KEYFRAME_INTERVAL_MS: int(200, 60000).default(2000),
  TAP_RESTART_DELAY_MS: int(0, 60000).default(250),
  /** A decoder without a frame this long after it started is stopped (undecodable media); restarts back off. */
  TAP_FIRST_FRAME_TIMEOUT_MS: int(500, 600000).default(10_000),
  /** A frame decoded later than this after its arrival is dropped (stale). */
  TAP_MAX_LAG_MS: int(100, 60000).default(1000),
  /**
   * A decoder whose frames stay stale this long is restarted past its backlog; 0: at its first stale frame. Short
   * lags (many decoders starting at once, a CPU spike) pass by themselves: restarting then only adds process starts
   * and keyframe waits to an overloaded machine, and 24 replayed streams collapsed that way (bench:pipeline).
   */
  TAP_BACKLOG_RESTART_MS: int(0, 600000).default(5000),
  FFMPEG_PATH: z.string().default('ffmpeg'),
  /** Video streams tapped at once, each with its ffmpeg once media flows: ~16-20 fill 2 cores at 10 fps. */
  MAX_TAPS: int(1, 10000).default(64),

  // pulled sources (POST /rooms/:room/sources)
  /** Sources on this server (each an ffmpeg while it pulls), failed ones included until deleted. */
  MAX_SOURCES: int(0, 10000).default(16),
  MAX_SOURCES_PER_ROOM: int(1, 1000).default(4),
  /** Sources may be on loopback, link-local and private addresses (the server's own network). */
  SOURCE_ALLOW_PRIVATE: z.stringbool().default(false),
  /** Host names (comma-separated) a source may have whatever they resolve to, e.g. a camera on the LAN. */
  SOURCE_ALLOWED_HOSTS: z.string().default(''),
  /** Pause before a source reconnects, doubled per attempt in a row without a frame (at most 60 s). */
  SOURCE_RECONNECT_DELAY_MS: int(0, 60_000).default(1000),
  /** A source with no frame this long (from connecting, or since its last frame) reconnects. */
  SOURCE_STALL_TIMEOUT_MS: int(1000, 600_000).default(10_000),
  /** Attempts in a row without a frame before a source gives up (failed). */
  SOURCE_MAX_FAILURES: int(1, 1000).default(10),

  // vision
  ORT_PROVIDER: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  ORT_INTRA_OP_THREADS: int(0, 256).default(1),
  ORT_INTER_OP_THREADS: int(0, 256).default(1),
  /** back256 finds faces of any size; front128 is ~5x cheaper but misses faces under ~9% of the frame. */
  VISION_DETECTOR_MODEL: z.enum(['back256', 'front128']).default('back256'),
  /**
   * Threads running detection and the affect model (onnxruntime-node blocks the thread it runs on);
   * 0 runs them on the main thread. Default: one per core (on 2 cores, 2 hold 16 streams at 10 fps, 1 holds 14),
   * at most 8: each holds its own sessions, and mediasoup and the decoders need cores too.
   */
  VISION_WORKERS: int(0, 64).default(Math.min(8, os.availableParallelism())),
  /**
   * Nice value of the vision worker threads (Linux: per thread), so that on a saturated machine the call itself (the
   * SFU, the relay, the decoders, events) comes first and the analysis sheds frames; 0: the same as the rest.
   */
  VISION_NICE: int(0, 19).default(5),
  VISION_DETECTOR_MIN_SCORE: z.coerce.number().gt(0).lt(1).default(0.5),
  /** Affect model ONNX file meeting docs/affect-model-contract.md. */
  VISION_AFFECT_MODEL: z.string().min(1).default(SHIPPED_AFFECT_MODEL),
  /**
   * int8: the affect model's static int8 quantization, `<VISION_AFFECT_MODEL without .onnx>.int8.onnx` (made by
   * models/fpnmaa/quantize.py); fp32: the file itself. Unset: int8 when that file exists (the shipped model has one).
   */
  VISION_PRECISION: z.enum(['fp32', 'int8']).optional(),

  // analysis pipeline
  /** Off: calls and the frame tap run, nothing is analysed (no model is loaded). */
  ANALYSIS_ENABLED: z.stringbool().default(true),
  /** Whether a participant whose token allows analysis is analysed from joining on, until it opts out (or in). */
  ANALYSIS_DEFAULT: z.enum(['on', 'off']).default('on'),
  BATCH_MAX_SIZE: int(1, 256).default(16),
  /**
   * How long a face waits for others to share its model call, while faces come at least every half of it (a lone
   * stream's faces never wait). 0: a batch is what piled up while the previous one ran. Measured on 2 cores with the
   * int8 model (bench:pipeline, 16 streams, three runs each): 30 ms took CPU per stream from 5.1% to 4.2% of a core
   * (batches of ~6 faces instead of ~1), p95 latency from 16 to 46 ms. Offline analysis never waits.
   */
  BATCH_MAX_WAIT_MS: int(0, 1000).default(30),
  ANALYSIS_CONCURRENCY: int(1, 256).optional(),
  /**
   * roi: a face found in one frame is looked for in the next only around where it was (front128 on that crop), the
   * whole frame searched every VISION_FULL_DETECT_INTERVAL_MS and whenever a face is not found again; off: the whole
   * frame every frame.
   */
  VISION_TRACKING: z.enum(['roi', 'off']).default('roi'),
  /** With VISION_TRACKING=roi, the longest a new face waits to be found (frame time). */
  VISION_FULL_DETECT_INTERVAL_MS: int(0, 60000).default(400),
  /**
   * With VISION_TRACKING=roi, a scheduled whole-frame search is skipped while the picture has not changed outside the
   * known faces since the last one, for up to this long after it; 0: searched on schedule whatever the picture does.
   */
  VISION_FULL_DETECT_STILL_INTERVAL_MS: int(0, 60000).default(2000),
  /** With VISION_TRACKING=roi, frames in a row a face is held where it was (no search) while nothing changed over it. */
  VISION_HOLD_FRAMES: int(0, 10).default(2),
  TRACK_MIN_HITS: int(1, 30).default(3),
  TRACK_MAX_MISS_MS: int(50, 60000).default(1000),
  // SMOOTH_*: chosen by `npm run bench:smoothing` on the face video; of the settings lagging <= 150 ms, the least
  // lag among those within 20% of the least jitter.
  /** One-Euro on valence/arousal: 0.5 Hz / beta 0.5 cut frame noise (2nd-difference RMS) 4.5x at ~120 ms lag. */
  SMOOTH_VA_MIN_CUTOFF_HZ: z.coerce.number().positive().default(0.5),
  SMOOTH_VA_BETA: z.coerce.number().nonnegative().default(0.5),
  /** Expression EMA: 150 ms more than halves label flips (1.8 -> 0.8/s) at ~80 ms lag; 300 ms: 10% fewer, ~200 ms. */
  SMOOTH_EXPRESSION_TAU_MS: z.coerce.number().positive().default(150),
  /** The shown expression changes only when another beats it by this much (smoothed probability). */
  SMOOTH_EXPRESSION_MARGIN: z.coerce.number().min(0).lt(1).default(0),
  /** AU EMA before the hysteresis: 100 ms toggles as rarely as 200 ms (0.27/s; raw 2.7/s) at half the lag (~60 ms). */
  SMOOTH_AU_TAU_MS: z.coerce.number().positive().default(100),

  // affect event stream
  MAX_SUBSCRIBERS: int(1, 100000).default(200),
  MAX_SUBSCRIPTIONS_PER_SUBSCRIBER: int(1, 1000).default(16),
  /** Connections one subscriber token may hold at once: one leaked token cannot take every subscriber slot. */
  MAX_SUBSCRIBERS_PER_TOKEN: int(1, 100000).default(4),
  MAX_BUFFERED_EVENTS: int(8, 100000).default(256),
  RECOVERY_WINDOW_MS: int(0, 600000).default(30000),

  // several nodes (README "Several nodes"); unset: one process, everything in memory
  /** redis://[user:password@]host:port[/db]: nodes share rooms' events, the affect history and the room directory. */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').optional(),
  /** This node's name in the room directory; default: the host name and a random suffix (unique per start). */
  NODE_ID: z.string().min(1).max(200).optional(),
  /** The URL browsers and services reach this node on (a participant of its rooms arriving elsewhere is sent here). */
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** A node refreshes its directory entry and room leases this often; it is dead after 3 missed. */
  NODE_HEARTBEAT_MS: int(100, 60_000).default(2000),
  /** SIGTERM with REDIS_URL: the node takes no new rooms, tells its participants, then waits at most this long for them to go. */
  DRAIN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  /** A room's durable history keeps about this many events (~1 kB each in Redis)... */
  AFFECT_HISTORY_MAX_EVENTS: int(100, 10_000_000).default(20_000),
  /** ... and none older than this. */
  AFFECT_HISTORY_MAX_AGE_S: int(10, 30 * 86400).default(3600),
  /** Event lines one GET /rooms/:room/affect returns at most (then an `end` line to page on from). */
  AFFECT_HISTORY_READ_MAX_EVENTS: int(1, 1_000_000).default(10_000),
  /** Events a `subscribe` with `since` gets in its ack at most. */
  AFFECT_RESUME_MAX_EVENTS: int(0, 100_000).default(2_000),

  // webhooks
  /** http(s) URLs (comma-separated) every webhook is POSTed to; none: no webhooks. */
  WEBHOOK_URLS: z.string().default(''),
  /** Signs webhooks (HMAC-SHA256); required with WEBHOOK_URLS. */
  WEBHOOK_SECRET: z.string().min(32).optional(),
  /** Changed faces are sent this often (`affect` webhooks); 0: no affect webhooks. */
  WEBHOOK_AFFECT_INTERVAL_MS: int(0, 3_600_000).default(5000),
  /** ... when valence or arousal moved at least this much, or the expression changed. */
  WEBHOOK_AFFECT_MIN_CHANGE: z.coerce.number().min(0).max(2).default(0.1),
  WEBHOOK_QUEUE_MAX: int(1, 1_000_000).default(1000),
  WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(8),
  WEBHOOK_RETRY_BASE_MS: int(1, 600_000).default(1000),
  WEBHOOK_TIMEOUT_MS: int(100, 600_000).default(5000),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  host: string;
  port: number;
  logLevel: Env['LOG_LEVEL'];
  /** Origins (scheme://host[:port]) besides the server's own whose pages may connect. */
  allowedOrigins: string[];
  metricsToken: string | undefined;
  httpIdleTimeoutMs: number;
  /** Certificate and key (PEM file paths) to serve HTTPS with; plain HTTP when undefined. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Per-address limits read the client address from X-Forwarded-For (set by the proxy in front). */
  trustProxy: boolean;
  auth: {
    mode: Env['CALL_AUTH'];
    /** Undefined in open mode without TOKEN_SECRET: a random one is made at start, for this process only. */
    tokenSecret: string | undefined;
  };
  mediasoup: {
    numWorkers: number;
    listenIp: string;
    announcedAddress: string;
    rtcMinPort: number;
    rtcMaxPort: number;
  };
  limits: {
    maxRooms: number;
    maxPeersPerRoom: number;
    maxProducersPerPeer: number;
    maxDisplayNameLength: number;
    maxConnectionsPerAddress: number;
    maxRoomsPerAddress: number;
  };
  whip: { maxSessions: number; noMediaTimeoutMs: number; maxSdpBytes: number };
  tap: FrameTapOptions & { enabled: boolean; maxTaps: number };
  vision: {
    provider: Env['ORT_PROVIDER'];
    intraOpThreads: number;
    interOpThreads: number;
    workers: number;
    nice: number;
    detectorModel: Env['VISION_DETECTOR_MODEL'];
    detectorMinScore: number;
    affectModelPath: string;
  };
  analysis: {
    enabled: boolean;
    /** A participant allowed analysis starts analysed (it may opt out), or not (it may opt in). */
    defaultOn: boolean;
    maxBatchSize: number;
    maxBatchWaitMs: number;
    /** Frames analysed at once across all streams; the others wait their turn, round-robin (fairTurns.ts). */
    concurrency: number;
    tracking: { minHits: number; maxMissMs: number };
    /** Region-of-interest detection (VISION_TRACKING=roi); undefined: every frame searched whole. */
    regionTracking: { fullIntervalMs: number; stillIntervalMs: number; maxHeld: number } | undefined;
    smoothing: { vaMinCutoffHz: number; vaBeta: number; expressionTauMs: number; expressionSwitchMargin: number; auTauMs: number };
  };
  sources: {
    maxSources: number;
    maxSourcesPerRoom: number;
    policy: { allowPrivate: boolean; allowedHosts: string[] };
    reconnectDelayMs: number;
    stallTimeoutMs: number;
    maxFailures: number;
  };
  events: {
    maxSubscribers: number;
    maxSubscriptionsPerSubscriber: number;
    maxSubscribersPerToken: number;
    maxBufferedEvents: number;
    recoveryWindowMs: number;
  };
  /** Undefined: no webhooks. */
  webhooks:
    | {
        urls: string[];
        secret: string;
        affectIntervalMs: number;
        affectMinChange: number;
        maxQueue: number;
        maxAttempts: number;
        retryBaseMs: number;
        timeoutMs: number;
      }
    | undefined;
  /** Undefined: a single node, nothing shared (the embedded default). */
  cluster:
    | {
        redisUrl: string;
        nodeId: string;
        /** Undefined: the URL the server listens on. */
        publicUrl: string | undefined;
        heartbeatMs: number;
        drainTimeoutMs: number;
        history: { maxEvents: number; maxAgeMs: number; readMaxEvents: number; resumeMaxEvents: number };
      }
    | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The affect model file of a precision: the int8 quantization lies beside the fp32 file. */
export const int8Sibling = (path: string) => path.replace(/(\.onnx)?$/, '.int8.onnx');

function affectModelFile(path: string, precision: 'fp32' | 'int8' | undefined): string {
  const int8 = int8Sibling(path);
  if (precision === 'fp32' || (precision === undefined && !existsSync(int8))) return path;
  if (!existsSync(int8)) {
    throw new ConfigError(
      `invalid configuration: VISION_PRECISION=int8 needs ${int8} beside VISION_AFFECT_MODEL (models/fpnmaa/quantize.py makes one); ` +
        'VISION_PRECISION=fp32 runs the file as it is',
    );
  }
  return int8;
}

function firstExternalIPv4(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  if (e.RTC_MIN_PORT > e.RTC_MAX_PORT) {
    throw new ConfigError('invalid configuration: RTC_MIN_PORT is above RTC_MAX_PORT');
  }
  if (e.CALL_AUTH === 'token' && !e.TOKEN_SECRET) {
    throw new ConfigError('invalid configuration: CALL_AUTH=token needs TOKEN_SECRET (32+ characters) to check tokens with');
  }
  if ((e.TLS_CERT === undefined) !== (e.TLS_KEY === undefined)) {
    throw new ConfigError('invalid configuration: TLS_CERT and TLS_KEY go together (a certificate and its key); set both or neither');
  }
  if (e.CALL_AUTH === 'open' && !isLoopback(e.HOST) && !e.CALL_AUTH_FORCE_OPEN) {
    throw new ConfigError(
      `invalid configuration: CALL_AUTH=open lets anyone join any call, and HOST=${e.HOST} is reachable from other machines; ` +
        'use CALL_AUTH=token with TOKEN_SECRET, or set CALL_AUTH_FORCE_OPEN=true if that is really meant',
    );
  }
  const webhookUrls = parseWebhookUrls(e.WEBHOOK_URLS);
  if (webhookUrls.length > 0 && !e.WEBHOOK_SECRET) {
    throw new ConfigError('invalid configuration: WEBHOOK_URLS needs WEBHOOK_SECRET (32+ characters) to sign webhooks with');
  }
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    allowedOrigins: parseOrigins(e.ALLOWED_ORIGINS),
    metricsToken: e.METRICS_TOKEN,
    httpIdleTimeoutMs: e.HTTP_IDLE_TIMEOUT_MS,
    tls: e.TLS_CERT !== undefined && e.TLS_KEY !== undefined ? { certFile: e.TLS_CERT, keyFile: e.TLS_KEY } : undefined,
    trustProxy: e.TRUST_PROXY,
    auth: { mode: e.CALL_AUTH, tokenSecret: e.TOKEN_SECRET },
    mediasoup: {
      numWorkers: e.MEDIASOUP_WORKERS,
      listenIp: e.MEDIASOUP_LISTEN_IP,
      announcedAddress:
        e.MEDIASOUP_ANNOUNCED_ADDRESS ??
        (e.MEDIASOUP_LISTEN_IP === '0.0.0.0' ? firstExternalIPv4() : e.MEDIASOUP_LISTEN_IP),
      rtcMinPort: e.RTC_MIN_PORT,
      rtcMaxPort: e.RTC_MAX_PORT,
    },
    limits: {
      maxRooms: e.MAX_ROOMS,
      maxPeersPerRoom: e.MAX_PEERS_PER_ROOM,
      maxProducersPerPeer: e.MAX_PRODUCERS_PER_PEER,
      maxDisplayNameLength: e.MAX_DISPLAY_NAME_LENGTH,
      maxConnectionsPerAddress: e.MAX_CONNECTIONS_PER_IP,
      maxRoomsPerAddress: e.MAX_ROOMS_PER_IP,
    },
    whip: { maxSessions: e.MAX_WHIP_SESSIONS, noMediaTimeoutMs: e.WHIP_NO_MEDIA_TIMEOUT_MS, maxSdpBytes: e.WHIP_MAX_SDP_BYTES },
    tap: {
      enabled: e.TAP_ENABLED,
      width: e.TAP_WIDTH,
      height: e.TAP_HEIGHT,
      layerMaxDownscale: e.TAP_LAYER_MAX_DOWNSCALE,
      fps: e.TAP_FPS,
      keyFrameIntervalMs: e.TAP_KEYFRAME_INTERVAL_MS,
      restartDelayMs: e.TAP_RESTART_DELAY_MS,
      firstFrameTimeoutMs: e.TAP_FIRST_FRAME_TIMEOUT_MS,
      maxLagMs: e.TAP_MAX_LAG_MS,
      backlogRestartMs: e.TAP_BACKLOG_RESTART_MS,
      ffmpegPath: e.FFMPEG_PATH,
      maxTaps: e.MAX_TAPS,
    },
    vision: {
      provider: e.ORT_PROVIDER,
      intraOpThreads: e.ORT_INTRA_OP_THREADS,
      interOpThreads: e.ORT_INTER_OP_THREADS,
      workers: e.VISION_WORKERS,
      nice: e.VISION_NICE,
      detectorModel: e.VISION_DETECTOR_MODEL,
      detectorMinScore: e.VISION_DETECTOR_MIN_SCORE,
      affectModelPath: affectModelFile(e.VISION_AFFECT_MODEL, e.VISION_PRECISION),
    },
    analysis: {
      enabled: e.ANALYSIS_ENABLED,
      defaultOn: e.ANALYSIS_DEFAULT === 'on',
      maxBatchSize: e.BATCH_MAX_SIZE,
      maxBatchWaitMs: e.BATCH_MAX_WAIT_MS,
      // 8 per vision worker: a turn also covers the main thread's part of a frame (alignment, the messages to and
      // from the worker), so with fewer the workers idle while streams wait. At 24 streams on 2 workers (bench:pipeline
      // --variant): 4 turns 6.5 events/s per stream and 35% shed, 8 turns 8.8 and 13%, 16 turns 9.6 and 4.9%.
      concurrency: e.ANALYSIS_CONCURRENCY ?? 8 * Math.max(1, e.VISION_WORKERS),
      tracking: { minHits: e.TRACK_MIN_HITS, maxMissMs: e.TRACK_MAX_MISS_MS },
      regionTracking:
        e.VISION_TRACKING === 'roi'
          ? {
              fullIntervalMs: e.VISION_FULL_DETECT_INTERVAL_MS,
              stillIntervalMs: e.VISION_FULL_DETECT_STILL_INTERVAL_MS,
              maxHeld: e.VISION_HOLD_FRAMES,
            }
          : undefined,
      smoothing: {
        vaMinCutoffHz: e.SMOOTH_VA_MIN_CUTOFF_HZ,
        vaBeta: e.SMOOTH_VA_BETA,
        expressionTauMs: e.SMOOTH_EXPRESSION_TAU_MS,
        expressionSwitchMargin: e.SMOOTH_EXPRESSION_MARGIN,
        auTauMs: e.SMOOTH_AU_TAU_MS,
      },
    },
    sources: {
      maxSources: e.MAX_SOURCES,
      maxSourcesPerRoom: e.MAX_SOURCES_PER_ROOM,
      policy: {
        allowPrivate: e.SOURCE_ALLOW_PRIVATE,
        allowedHosts: e.SOURCE_ALLOWED_HOSTS.split(',')
          .map((host) => host.trim().toLowerCase().replace(/^\[|\]$/g, ''))
          .filter((host) => host !== ''),
      },
      reconnectDelayMs: e.SOURCE_RECONNECT_DELAY_MS,
      stallTimeoutMs: e.SOURCE_STALL_TIMEOUT_MS,
      maxFailures: e.SOURCE_MAX_FAILURES,
    },
    events: {
      maxSubscribers: e.MAX_SUBSCRIBERS,
      maxSubscriptionsPerSubscriber: e.MAX_SUBSCRIPTIONS_PER_SUBSCRIBER,
      maxSubscribersPerToken: e.MAX_SUBSCRIBERS_PER_TOKEN,
      maxBufferedEvents: e.MAX_BUFFERED_EVENTS,
      recoveryWindowMs: e.RECOVERY_WINDOW_MS,
    },
    webhooks:
      webhookUrls.length === 0 || !e.WEBHOOK_SECRET
        ? undefined
        : {
            urls: webhookUrls,
            secret: e.WEBHOOK_SECRET,
            affectIntervalMs: e.WEBHOOK_AFFECT_INTERVAL_MS,
            affectMinChange: e.WEBHOOK_AFFECT_MIN_CHANGE,
            maxQueue: e.WEBHOOK_QUEUE_MAX,
            maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
            retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
            timeoutMs: e.WEBHOOK_TIMEOUT_MS,
          },
    cluster:
      e.REDIS_URL === undefined
        ? undefined
        : {
            redisUrl: e.REDIS_URL,
            nodeId: e.NODE_ID ?? `${os.hostname()}-${randomBytes(3).toString('hex')}`,
            publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
            heartbeatMs: e.NODE_HEARTBEAT_MS,
            drainTimeoutMs: e.DRAIN_TIMEOUT_MS,
            history: {
              maxEvents: e.AFFECT_HISTORY_MAX_EVENTS,
              maxAgeMs: e.AFFECT_HISTORY_MAX_AGE_S * 1000,
              readMaxEvents: e.AFFECT_HISTORY_READ_MAX_EVENTS,
              resumeMaxEvents: e.AFFECT_RESUME_MAX_EVENTS,
            },
          },
  };
}

/** Whether only this machine can reach an address the server listens on. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function parseOrigins(list: string): string[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      let origin: string;
      try {
        origin = new URL(item).origin;
      } catch {
        throw new ConfigError(`invalid configuration: ALLOWED_ORIGINS: ${item} is not an origin (https://host[:port])`);
      }
      if (origin === 'null' || origin !== item.replace(/\/$/, '')) {
        throw new ConfigError(`invalid configuration: ALLOWED_ORIGINS: ${item} is not an origin (https://host[:port])`);
      }
      return origin;
    });
}

function parseWebhookUrls(list: string): string[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      let url: URL;
      try {
        url = new URL(item);
      } catch {
        throw new ConfigError(`invalid configuration: WEBHOOK_URLS: ${item} is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new ConfigError(`invalid configuration: WEBHOOK_URLS: ${item} is not http(s)`);
      }
      return url.toString();
    });
}
