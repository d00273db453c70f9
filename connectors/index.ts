/** The connectors' public surface: configuration, factories, interfaces, errors. */
export * from './config.ts';
export { ConnectorError, type ConnectorErrorCode, isConnectorError, isTransient } from './errors.ts';
export { createSource, createTarget } from './factory.ts';
export { type ConnectorLogger, consoleLogger, redactingLogger, silentLogger } from './logger.ts';
export type * from './types.ts';
export { ApismithClient } from './apismith/client.ts';
export { SchedulehubClient } from './schedulehub/client.ts';
