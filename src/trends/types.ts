/** Configuration types the trend modules take (re-exported from the config section). */
export type { ErrorAnalysisConfig as ErrorConfig, HealthConfig, RegressionConfig } from '../config/trends-section';
