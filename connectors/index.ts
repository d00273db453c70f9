/** The connectors' public surface: configuration, factories, interfaces, errors. */

export { ApismithClient } from './apismith/client.ts';
export * from './config.ts';
export { ConnectorError, type ConnectorErrorCode, isConnectorError, isTransient } from './errors.ts';
export { createSource, createTarget } from './factory.ts';
export { type ConnectorLogger, connectorLogger, redactingLogger, silentLogger } from './logger.ts';
export { SchedulehubClient } from './schedulehub/client.ts';
export type * from './types.ts';
