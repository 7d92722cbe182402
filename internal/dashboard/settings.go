package dashboard

// SettingsSources are what the Settings pages read: teams, applications and keys, people and roles, prompts.
type SettingsSources struct{}
