/** The connectors' public surface: configuration, factories, interfaces, errors. */

export * from '../pipeline/connector-config.ts';
export type { ApplyBatch, TargetRecord } from '../pipeline/target-record.ts';
export { ApismithClient } from './apismith/client.ts';
export { ConnectorError, type ConnectorErrorCode, isConnectorError, isTransient } from './errors.ts';
export { createSource, createTarget } from './factory.ts';
export { type ConnectorLogger, connectorLogger, redactingLogger, silentLogger } from './logger.ts';
export { SchedulehubClient } from './schedulehub/client.ts';
export type * from './types.ts';
