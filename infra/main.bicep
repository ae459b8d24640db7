// Dynamics Marketing Sync: one environment (resource-group scope).
//
// Plain resources only (no registry modules) so the template needs no network to build,
// and tests/infra/test_bicep.py can parse it offline with pycep.
//
// Identity-only wiring: the Function App's system-assigned identity reaches Storage,
// Service Bus and Key Vault through RBAC; Storage and Service Bus have key auth disabled.
//
// Deploy:
//   az deployment group create -g <rg> --template-file infra/main.bicep \
//     --parameters @infra/main.parameters.example.json
// The deploying principal needs Contributor plus a role that may write role assignments
// (Owner, User Access Administrator or Role Based Access Control Administrator) on the group.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

@description('Short lowercase alphanumeric name (3-11 chars) that all resource names derive from.')
@minLength(3)
@maxLength(11)
param baseName string

@description('Azure region for every resource. Flex Consumption is only offered in some regions.')
param location string = resourceGroup().location

@description('Tags applied to every resource.')
param tags object = {
  application: 'dynamics-marketing-sync'
}

// Names default to baseName plus a resource-group hash: globally unique names
// (storage, vault, namespace, app host name) stay stable across redeployments.
@description('Storage account name (3-24 lowercase letters and digits).')
@maxLength(24)
param storageAccountName string = take(toLower('st${baseName}${uniqueString(resourceGroup().id)}'), 24)

@description('Service Bus namespace name (6-50 chars).')
param serviceBusNamespaceName string = 'sb-${baseName}-${uniqueString(resourceGroup().id)}'

@description('Key Vault name (3-24 chars).')
@maxLength(24)
param keyVaultName string = take('kv${baseName}${uniqueString(resourceGroup().id)}', 24)

@description('Log Analytics workspace name.')
param logAnalyticsName string = 'log-${baseName}'

@description('Application Insights component name.')
param appInsightsName string = 'appi-${baseName}'

@description('Flex Consumption plan name.')
param planName string = 'plan-${baseName}'

// Kept short: the Functions host id is derived from the first 32 characters of the name,
// and apps sharing a storage account must not collide there.
@description('Function App name (also its default host name).')
@maxLength(32)
param functionAppName string = 'func-${baseName}-${take(uniqueString(resourceGroup().id), 8)}'

@description('Dataverse environment URL, e.g. https://contoso.crm4.dynamics.com')
param dataverseUrl string

@description('Entra tenant of the Dataverse app registration (defaults to this subscription\'s tenant).')
param dataverseTenantId string = subscription().tenantId

@description('Client (application) id of the Dataverse app registration.')
param dataverseClientId string

// Optional: when empty the secret is not touched, so a redeploy never overwrites a value an
// operator set (or rotated) with `az keyvault secret set --name dataverse-client-secret`.
@description('Dataverse client secret to store in Key Vault; leave empty to manage it out of band.')
@secure()
param dataverseClientSecret string = ''

// Concurrency budget. Dataverse allows 52 concurrent requests per user across the whole app,
// and every instance signs in as the same application user. The most requests in flight are
//   maximumInstanceCount x serviceBusMaxConcurrentCalls x dataverseMaxConcurrency
//     = 6 x 2 x 4 = 48 <= 52
// with one Python worker process per instance (FUNCTIONS_WORKER_PROCESS_COUNT's default of 1,
// which this app leaves alone). The Dataverse cap is per process and shared by its calls, so
// the real bound is lower still; counting the calls keeps the budget safe should clients ever
// be made per run. Raise one factor only by lowering another; a request that meets 429 anyway
// waits its Retry-After.
// tests/infra/test_concurrency_budget.py checks the product of the defaults.

@description('Upper bound on Flex Consumption instances; a factor of the Dataverse concurrency budget (see above).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 6

@description('Service Bus messages one instance handles at once (host.json maxConcurrentCalls); a factor of the Dataverse concurrency budget.')
@minValue(1)
@maxValue(16)
param serviceBusMaxConcurrentCalls int = 2

@description('Dataverse requests in flight per worker process (DATAVERSE_MAX_CONCURRENCY); a factor of the Dataverse concurrency budget.')
@minValue(1)
@maxValue(52)
param dataverseMaxConcurrency int = 4

@description('Memory per Flex Consumption instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// ---------------------------------------------------------------------------------------------
// Variables
// ---------------------------------------------------------------------------------------------

// The product's tables (shared/storage/tables.py TABLES). The app also creates them on first
// use; declaring them here makes the environment complete before the first run.
var tableNames = [
  'EmailAccounts'
  'SyncSchedules'
  'SyncDue'
  'SyncState'
  'SyncAudit'
  'SyncAuditDetails'
  'CrmFields'
  'EmailDataLabels'
  'EmailDataMappings'
  'MarketingListLinks'
  'ListSnapshots'
  'MarketingListHistory'
  'WebhookRegistrations'
  'WebhookEvents'
  'WebhookTargets'
  'ProgramAccess'
  'UserMappings'
  'AdobeCampaignConfig'
]

var syncQueueName = 'sync-requests'
var deploymentContainerName = 'app-package'
var dataverseSecretName = 'dataverse-client-secret'

// Built-in role definition ids (Learn: Azure built-in roles).
var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

// ---------------------------------------------------------------------------------------------
// Storage: host storage (AzureWebJobsStorage), Flex deployment packages, product tables
// ---------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Identity only: the app uses AzureWebJobsStorage__accountName and RBAC, never keys.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Flex Consumption pulls the app package from this container with the app's identity.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

// ---------------------------------------------------------------------------------------------
// Service Bus: the sync-requests work queue
// ---------------------------------------------------------------------------------------------

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: serviceBusNamespaceName
  location: location
  tags: tags
  // Standard, not Basic: Basic has no duplicate detection, sessions or transactions.
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    minimumTlsVersion: '1.2'
    // Identity only (ServiceBusConnection__fullyQualifiedNamespace): no SAS keys.
    disableLocalAuth: true
  }
}

resource syncQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: serviceBus
  name: syncQueueName
  properties: {
    // The sender sets MessageId, so a request re-sent within 10 minutes is dropped.
    // Duplicate detection can only be switched on when the queue is created.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT10M'
    // Service Bus maximum; the host renews the lock while a sync run is in progress.
    lockDuration: 'PT5M'
    // A request that fails five times goes to sync-requests/$deadletterqueue for inspection.
    maxDeliveryCount: 5
    // Requests older than a day are stale (the app times queued runs out after an hour);
    // expired ones are dead-lettered rather than silently dropped.
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
  }
}

// ---------------------------------------------------------------------------------------------
// Key Vault: email-platform API passwords and the Dataverse client secret
// ---------------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Access through Azure RBAC roles, not vault access policies.
    enableRbacAuthorization: true
    // Deleted secrets are recoverable for 90 days and cannot be purged early.
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

resource dataverseSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(dataverseClientSecret)) {
  parent: keyVault
  name: dataverseSecretName
  properties: {
    value: dataverseClientSecret
  }
}

// ---------------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
  }
}

// ---------------------------------------------------------------------------------------------
// Flex Consumption plan and Function App
// ---------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // Linux.
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // Flex sets the runtime in functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and
      // FUNCTIONS_EXTENSION_VERSION must not be app settings here.
      appSettings: [
        {
          // Host storage (and the product's tables) through the app identity.
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          // Prefix match => identity connection for connection="ServiceBusConnection".
          name: 'ServiceBusConnection__fullyQualifiedNamespace'
          value: '${serviceBus.name}.servicebus.windows.net'
        }
        {
          name: 'SYNC_QUEUE_BACKEND'
          value: 'ServiceBus'
        }
        {
          name: 'SYNC_QUEUE_NAME'
          value: syncQueue.name
        }
        {
          name: 'DATAVERSE_URL'
          value: dataverseUrl
        }
        {
          name: 'DATAVERSE_TENANT_ID'
          value: dataverseTenantId
        }
        {
          name: 'DATAVERSE_CLIENT_ID'
          value: dataverseClientId
        }
        {
          // Resolved by the platform with the app identity (Key Vault Secrets User below);
          // the secret value never appears in app settings or deployment history.
          name: 'DATAVERSE_CLIENT_SECRET'
          value: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=dataverse-client-secret)'
        }
        {
          // The key Dataverse sends with each webhook post; the same value is the webhook
          // function's key `dynamics-webhook` (README: Webhooks).
          name: 'DYNAMICS_WEBHOOK_KEY'
          value: '@Microsoft.KeyVault(VaultName=${keyVault.name};SecretName=dynamics-webhook-key)'
        }
        {
          name: 'DOTDIGITAL_DISCOVERY_URL'
          value: 'https://r1-api.dotdigital.com'
        }
        {
          // Platform passwords named by account rows are read from here by name.
          name: 'KEY_VAULT_URL'
          value: keyVault.properties.vaultUri
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'AUDIT_RETENTION_DAYS'
          value: '30'
        }
        {
          // Overrides host.json's extensions.serviceBus.maxConcurrentCalls.
          name: 'AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls'
          value: string(serviceBusMaxConcurrentCalls)
        }
        {
          name: 'DATAVERSE_MAX_CONCURRENCY'
          value: string(dataverseMaxConcurrency)
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
  dependsOn: [
    deploymentContainer
  ]
}

// ---------------------------------------------------------------------------------------------
// Role assignments for the app's system-assigned identity
// ---------------------------------------------------------------------------------------------
// Names use functionApp.id (known at compile time), not the principal id (only known after
// the app exists), so they are deterministic and redeployments are idempotent.

// Host storage and the Flex deployment container (blob leases, timer locks, package).
resource storageBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roleIds.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Host internals use storage queues; also the StorageQueue backend if ever selected.
resource storageQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roleIds.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageQueueDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The product's state: accounts, schedules, sync state, audit.
resource storageTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roleIds.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageTableDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The worker's Service Bus trigger (management roles like Owner are not enough).
resource serviceBusDataReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, functionApp.id, roleIds.serviceBusDataReceiver)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.serviceBusDataReceiver)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The scheduler, webhook and admin API enqueue sync requests.
resource serviceBusDataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(serviceBus.id, functionApp.id, roleIds.serviceBusDataSender)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.serviceBusDataSender)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault references in app settings and direct reads of platform passwords (read only).
resource keyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, functionApp.id, roleIds.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (the deploy workflow reads functionAppName)
// ---------------------------------------------------------------------------------------------

output functionAppName string = functionApp.name
output keyVaultName string = keyVault.name
